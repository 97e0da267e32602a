"""The hydra node guard: every Hydra composition is checked before Hydra builds callbacks, logging, sweeper or
launcher from it; what Hydra and hydraops ship passes, anything else is refused with its key and source."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from hydraops import ConfigError
from hydraops.config.compose import compose_project
from tests.conftest import PROJECTS

CHURN = PROJECTS / "churn"


def problems(*overrides: str, project: Path = CHURN) -> dict[str, str]:
    """``{key: "source: message"}`` of the ConfigError composing raises (empty when it composes)."""
    try:
        compose_project(project, list(overrides))
    except ConfigError as error:
        return {p.key: f"{p.source}: {p.message}" for p in error.problems}
    return {}


@pytest.mark.parametrize(
    "overrides",
    [
        ("hydra.job_logging.handlers.file.filename=${hydra.runtime.output_dir}/logs/${hydra.job.name}.log",
         "+hydra.job.env_set.OMP_NUM_THREADS=1", "hydra.output_subdir=meta", "hydra.searchpath=[file:///tmp]"),
        ("hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "hparams_search=optuna", "hydra/job_logging=stdout", "hydra/hydra_logging=disabled"),
        ("hparams_search=grid", "hydra/job_logging=disabled", "hydra/hydra_logging=none"),
    ],
    ids=["defaults-and-safe-settings", "joblib-optuna-stdout", "grid-disabled-logging"],
)  # fmt: skip
def test_what_hydra_and_hydraops_ship_passes(overrides: tuple[str, ...]) -> None:
    """hydraops' defaults (Hydra's default logging, the sweep callback) and the plugins it ships compose."""
    assert problems(*overrides) == {}


MARKER = "/tmp/hydraops-guard-marker-never-written"
#: Each override (one composition: every problem is reported at once) → the key it is refused at, and why.
REFUSED = {
    f"+hydra.callbacks.x={{_target_:sklearn.utils._testing.assert_run_python_script_without_output,source_code:'open(\"{MARKER}\",\"w\")'}}":
        ("hydra.callbacks.x._target_", "allowed: hydraops.cli.sweep.MlflowSweepCallback"),
    "+hydra.callbacks.mlflow_sweep.x={_target_:os.system,command:true}": ("hydra.callbacks.mlflow_sweep.x._target_", "nothing may be instantiated here"),
    "+hydra.callbacks.mlflow_sweep._args_=[1]": ("hydra.callbacks.mlflow_sweep._args_", "_args_ is not allowed"),
    "hydra.launcher._target_=subprocess.Popen": ("hydra.launcher._target_", "JoblibLauncher"),
    f"+hydra.job_logging.handlers.x={{class:logging.FileHandler,filename:{MARKER}}}": ("hydra.job_logging.handlers.x.filename", f"log file '{MARKER}' is not allowed"),
    "hydra.job_logging.handlers.file.filename=${hydra.runtime.output_dir}/../../escaped.log": ("hydra.job_logging.handlers.file.filename", "../../escaped.log' is not allowed"),
    "hydra.job_logging.handlers.console.class=logging.handlers.SocketHandler": ("hydra.job_logging.handlers.console.class", "'logging.handlers.SocketHandler' is not allowed"),
    "+hydra.job_logging.handlers.err={class:logging.StreamHandler,stream:\"ext://os.system\"}": ("hydra.job_logging.handlers.err.stream", "allowed: ext://sys.stderr"),
    "+hydra.job_logging.formatters.simple.class=logging.Filter": ("hydra.job_logging.formatters.simple.class", "allowed: logging.Formatter"),
    "+hydra.job.env_set.GIT_CONFIG_COUNT=1": ("hydra.job.env_set.GIT_CONFIG_COUNT", "not allowed"),
    "+hydra.job.env_set.LD_PRELOAD=/tmp/x.so": ("hydra.job.env_set.LD_PRELOAD", "not allowed"),
    "hydra.output_subdir=../../up": ("hydra.output_subdir", "a relative folder"),
}  # fmt: skip


def test_refused_on_the_command_line() -> None:
    found = problems("hydra/job_logging=default", *REFUSED)
    assert set(found) == {key for key, _ in REFUSED.values()}, found
    for override, (key, says) in REFUSED.items():
        assert found[key].startswith(f"command-line override '{override}': ") and says in found[key], found[key]
    assert not Path(MARKER).exists()


@pytest.mark.parametrize(
    ("overrides", "key", "says"),
    [
        (["hparams_search=optuna", "hydra.sweeper.custom_search_space=os.system", "hydra.sweeper.sampler._target_=os.system"],
         "hydra.sweeper.custom_search_space", "a function the sweeper would import and call"),
        (["hparams_search=optuna", "hydra.sweeper.sampler._target_=os.system"], "hydra.sweeper.sampler._target_", "optuna.samplers.TPESampler"),
        (["hydra.output_subdir=/tmp/elsewhere", "hydra.searchpath=[pkg://antigravity]"], "hydra.searchpath", "pkg:// entries are not allowed"),
    ],
    ids=["custom_search_space", "sampler", "searchpath-before-composing"],
)  # fmt: skip
def test_sweeper_and_search_path(overrides: list[str], key: str, says: str) -> None:
    found = problems(*overrides)
    assert key in found and says in found[key], found


def test_factories_and_references_refused_in_a_yaml_file(tmp_path: Path) -> None:
    """``()`` factories, ``.`` properties and ``ext://`` imports cannot be written on the command line: YAML."""
    project = _copy(tmp_path)
    (project / "conf" / "experiment" / "logs.yaml").write_text(
        "# @package _global_\nhydra:\n  job_logging:\n"
        "    formatters: {f: {'()': builtins.print}, g: {format: '%(message)s', x: 1}}\n"
        f"    handlers:\n      x: {{'()': builtins.open, file: {MARKER}, mode: w}}\n"
        "      y: {class: logging.StreamHandler, '.': {name: z}, level: ext://os.system}\n"
        "    filters: {z: {'()': builtins.print}}\n"
        "    loggers: {a: {level: INFO, class: x}}\n"
        "    bogus: 1\n"
        "  sweeper: {params: {hydra.job_logging.root.level: 'INFO,DEBUG'}}\n"
    )  # fmt: skip
    found = problems("experiment=logs", project=project)
    expected = {
        "hydra.job_logging.formatters.f.()": "'()' factory 'builtins.print' is not allowed",
        "hydra.job_logging.formatters.g.x": "not allowed in a formatter",
        "hydra.job_logging.handlers.x.()": "'()' factories are not allowed in a handler",
        "hydra.job_logging.handlers.y..": "not allowed in a logging.StreamHandler",
        "hydra.job_logging.handlers.y.level": "'ext://os.system' is not allowed",
        "hydra.job_logging.filters.z": "only 'name'",
        "hydra.job_logging.loggers.a.class": "not allowed in a logger",
        "hydra.job_logging.bogus": "unknown logging key 'bogus'",
        "hydra.sweeper.params": "'hydra.job_logging.root.level': a sweep may not vary Hydra's own settings",
    }
    assert set(found) == set(expected), found
    for key, text in expected.items():
        assert text in found[key] and found[key].startswith(f"{project}/conf/experiment/logs.yaml: "), found[key]


def test_a_launcher_option_of_the_project_is_checked_too(tmp_path: Path) -> None:
    project = _copy(tmp_path)
    (project / "conf" / "hydra" / "launcher").mkdir(parents=True)
    (project / "conf" / "hydra" / "launcher" / "mine.yaml").write_text(
        "_target_: hydra._internal.core_plugins.basic_launcher.BasicLauncher\nhook: {_target_: os.system, command: 'true'}\n"
    )
    found = problems("hydra/launcher=mine", project=project)
    assert list(found) == ["hydra.launcher.hook._target_"], found
    assert found["hydra.launcher.hook._target_"].startswith(f"{project}/conf/hydra/launcher/mine.yaml: _target_ 'os.system'")


def test_a_task_unpickled_in_a_worker_process_installs_the_guard() -> None:
    """A launcher (joblib, ...) pickles the task and composes each job's config in the worker: there, the
    guard is in place before the worker composes anything."""
    from hydraops.cli import VERBS

    payload = pickle.dumps(_task_of(VERBS["train"][1]))
    code = (
        "import pickle, sys\n"
        "from hydra._internal.config_loader_impl import ConfigLoaderImpl as L\n"
        "assert not getattr(L.load_configuration, '_hydraops_guard', False)\n"
        "task = pickle.loads(sys.stdin.buffer.read())\n"
        "print(type(task).__name__, getattr(L.load_configuration, '_hydraops_guard', False))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], input=payload, capture_output=True, timeout=60)
    assert result.stdout.decode().split() == ["VerbTask", "True"], result.stderr.decode()


def test_config_error_survives_pickling() -> None:
    """A worker process sends a job's ConfigError back pickled: its problems arrive whole."""
    from hydraops.errors import Problem

    error = pickle.loads(pickle.dumps(ConfigError([Problem("a.b", "conf/x.yaml", "bad")])))
    assert error.problems == [Problem("a.b", "conf/x.yaml", "bad")] and str(error).endswith("a.b (conf/x.yaml): bad")


def _task_of(verb):
    from hydraops.cli.hydra_app import VerbTask

    return VerbTask(verb, {})


def _copy(tmp_path: Path) -> Path:
    from tests.conftest import copy_project

    project = copy_project("churn", tmp_path / "churn")
    (project / "conf" / "experiment").mkdir(exist_ok=True)
    return project


def test_a_package_on_the_search_path_of_the_primary_config_is_refused_before_composing(tmp_path: Path) -> None:
    """Hydra reads the primary config's ``hydra.searchpath`` first, and would import a ``pkg://`` package."""
    project = _copy(tmp_path)
    config = project / "conf" / "config.yaml"
    config.write_text(config.read_text() + "\nhydra:\n  searchpath: [pkg://antigravity]\n")
    found = problems(project=project)
    assert found == {"hydra.searchpath[0]": f"{config}: 'pkg://antigravity' is not allowed: search path entries are folders (file://PATH or PATH)"}


def test_interpolations_are_checked_as_they_resolve(tmp_path: Path) -> None:
    """A plugin or handler smuggled in through an interpolation is checked resolved; one that cannot be resolved
    before Hydra uses it (it could resolve to anything later) is refused."""
    found = problems("+smuggled={_target_:os.system,command:true}", "+hydra.callbacks.y=${smuggled}", "+hydra.callbacks.z=${hydra.job.num}")
    assert found["hydra.callbacks.y._target_"].startswith("command-line override '+hydra.callbacks.y=${smuggled}': _target_ 'os.system'")
    assert "'${hydra.job.num}' must resolve when the config is composed" in found["hydra.callbacks.z"]
    project = _copy(tmp_path)
    (project / "conf" / "experiment" / "smuggle.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /model: sklearn\n"
        f"model:\n  estimator:\n    hidden: {{'()': builtins.open, file: {MARKER}, mode: w}}\n"
        "hydra:\n  job_logging:\n    handlers:\n      x: ${model.estimator.hidden}\n"
    )
    found = problems("experiment=smuggle", project=project)
    assert "'()' factories are not allowed in a handler" in found["hydra.job_logging.handlers.x.()"], found
