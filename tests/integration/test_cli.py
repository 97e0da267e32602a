"""The hydraops command, run for real: verbs, Hydra's overrides and flags, plan output."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import Run, snapshot


def test_help_lists_every_verb_on_one_line(hydraops: Run, tmp_path: Path) -> None:
    result = hydraops("--help", cwd=tmp_path)
    assert result.returncode == 0
    for verb in ("init", "validate", "plan"):
        assert any(line.strip().startswith(verb + " ") for line in result.stdout.splitlines())


def test_bad_verb_parameters_are_one_usage_error(hydraops: Run, churn: Path) -> None:
    """Checked before Hydra composes anything: exit 2, every bad parameter named, no traceback."""
    for args, messages in [
        (("promote", "version=abc"), ["version=abc: expected a version number, e.g. version=3"]),
        (("features", "get-online", "entity=1", "at=yesterday"), ["at=yesterday: expected a date (YYYY-MM-DD) or an ISO timestamp"]),
        (("features", "get-online"), ["entity=… is required: the entity key(s), e.g. entity=42"]),
        (("reproduce",), ["usage: hydraops reproduce RUN_ID"]),
        (("features", "check-skew", "sample=lots"), ["sample=lots: expected a whole number of at least 1, e.g. sample=100"]),
        (("features", "materialize", "start=2025-13-01", "force=please"),
         ["2 bad parameters:", "  start=2025-13-01: expected a date", "  force=please: expected true or false"]),
    ]:  # fmt: skip
        result = hydraops(*args, cwd=churn)
        assert result.returncode == 2 and all(message in result.stderr for message in messages), (args, result.stderr)
        assert "lists its parameters" in result.stderr or args == ("reproduce",)
        assert "Traceback" not in result.stderr
        assert not (churn / "outputs").exists(), "nothing ran"


def test_verb_help_lists_its_parameters_then_the_config_groups(hydraops: Run, churn: Path) -> None:
    for verb, params in [(("features", "materialize"), ("start=", "end=", "force=")), (("promote",), ("version=", "dry_run=", "approve="))]:
        result = hydraops(*verb, "--help", cwd=churn)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert lines[0].startswith(f"hydraops {' '.join(verb)}: ") and "parameters (besides Hydra's overrides):" in lines
        assert all(any(line.split()[:1] == [param] for line in lines) for param in params), result.stdout
        assert result.stdout.index("default") < result.stdout.index("== Configuration groups ==")
        assert "model: " in result.stdout


def test_unknown_verb_is_a_clear_error(hydraops: Run, tmp_path: Path) -> None:
    result = hydraops("trian", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown verb 'trian'" in result.stderr and "validate" in result.stderr
    assert "Traceback" not in result.stderr


def test_outside_a_project_says_where_it_looked(hydraops: Run, tmp_path: Path) -> None:
    result = hydraops("validate", cwd=tmp_path)
    assert result.returncode == 2
    assert "no hydraops project" in result.stderr and "conf/config.yaml" in result.stderr


def test_validate_churn(hydraops: Run, churn: Path) -> None:
    before = snapshot(churn)
    result = hydraops("validate", cwd=churn)
    assert result.returncode == 0, result.stderr
    assert "project 'churn' is valid" in result.stdout
    assert "19 features" in result.stdout
    assert snapshot(churn) == before, "validate writes nothing"


def test_validate_with_overrides(hydraops: Run, churn: Path) -> None:
    result = hydraops("validate", "model=logistic_regression", "model.C=0.1", "++model.features=[age,plan,region]", cwd=churn)
    assert result.returncode == 0, result.stderr
    assert "model logistic_regression" in result.stdout
    result = hydraops("plan", "--cfg", "job", "model=sklearn", "+model.estimator.max_depth=5", cwd=churn)
    assert result.returncode == 0, result.stderr
    assert "max_depth: 5" in result.stdout


def test_validate_experiment_and_delete(hydraops: Run, churn: Path) -> None:
    result = hydraops("validate", "experiment=baseline", "~monitor.columns.age", cwd=churn)
    assert result.returncode == 0, result.stderr
    assert "logistic_regression" in result.stdout


def test_multirun_over_two_options(hydraops: Run, churn: Path) -> None:
    before = snapshot(churn)
    result = hydraops("validate", "-m", "model=lightgbm,random_forest", cwd=churn)
    assert result.returncode == 0, result.stderr
    assert "model lightgbm" in result.stdout and "model random_forest" in result.stdout
    assert snapshot(churn) == before, "a read-only multirun leaves no multirun/ folder"


def test_cfg_job_prints_the_composed_config(hydraops: Run, churn: Path) -> None:
    result = hydraops("plan", "--cfg", "job", "--resolve", "model.num_leaves=15", cwd=churn)
    assert result.returncode == 0, result.stderr
    assert "num_leaves: 15" in result.stdout
    assert f"root: {churn}" in result.stdout


def test_info_defaults(hydraops: Run, churn: Path) -> None:
    result = hydraops("validate", "--info", "defaults", cwd=churn)
    assert result.returncode == 0
    assert "features/churn" in result.stdout and "model/lightgbm" in result.stdout


def test_config_dir_flag_works_from_anywhere(hydraops: Run, churn: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = hydraops("validate", "-cd", str(churn / "conf"), cwd=elsewhere)
    assert result.returncode == 0, result.stderr


def test_plan_tree(hydraops: Run, churn: Path) -> None:
    result = hydraops("plan", cwd=churn)
    assert result.returncode == 0, result.stderr
    assert "plan for project churn" in result.stdout
    assert "source transactions" in result.stdout and "no file matches yet" in result.stdout


def test_plan_json_with_data(hydraops: Run, churn: Path) -> None:
    (churn / "data").mkdir()
    (churn / "data" / "labels.parquet").write_bytes(b"PAR1")
    result = hydraops("plan", "--json", "data=csv", cwd=churn)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["project"] == "churn"
    labels = next(a for a in plan["actions"] if a["name"] == "source labels")
    assert labels["stage"] == "data" and labels["effect"] == "check"
    assert labels["inputs"] == [str(churn / "data" / "labels.csv")]
    result = hydraops("plan", "--json", cwd=churn)
    labels = next(a for a in json.loads(result.stdout)["actions"] if a["name"] == "source labels")
    assert labels["details"][0].startswith("1 file")


def test_shell_completion(hydraops: Run, churn: Path) -> None:
    env = {"COMP_LINE": "hydraops plan model=random_f"}
    result = hydraops("-sc", "query=bash", cwd=churn, env=env)
    assert result.stdout.split() == ["model=random_forest"]
    install = hydraops("validate", "--shell-completion", "install=bash", cwd=churn)
    assert "hydra_bash_completion" in install.stdout


def test_full_error_gives_the_traceback(hydraops: Run, churn: Path) -> None:
    quiet = hydraops("validate", "deploy.alias=prod", cwd=churn)
    assert "Traceback" not in quiet.stderr and quiet.returncode == 2
    loud = hydraops("validate", "deploy.alias=prod", cwd=churn, env={"HYDRA_FULL_ERROR": "1"})
    assert "Traceback" in loud.stderr and "ConfigError" in loud.stderr


def test_runs_started_together_get_their_own_output_dirs(churn: Path) -> None:
    """Two processes composing in the same second resolve different run dirs (the pid is part of it)."""
    import subprocess
    import sys

    code = (
        "import sys; from hydraops.cli.hydra_app import *; from hydraops import compose_project;"
        "from hydra.core.hydra_config import HydraConfig;"
        "from hydra import compose, initialize_config_dir;"
        f"ctx = initialize_config_dir({str(churn / 'conf')!r}, version_base='1.3'); ctx.__enter__();"
        "cfg = compose('config', return_hydra_config=True); HydraConfig.instance().set_config(cfg);"
        "print(cfg.hydra.run.dir)"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=churn) for _ in range(2)]
    dirs = [proc.communicate(timeout=60)[0].strip() for proc in procs]
    assert all(d.startswith("outputs/") for d in dirs), dirs
    assert dirs[0] != dirs[1]
    assert os.path.basename(dirs[0]).split("-")[-1].isdigit()


def test_validate_and_plan_import_nothing_heavy(churn: Path) -> None:
    """validate and plan stay fast: no ML or data library is imported on their path (before the project has
    a registry: then plan reads today's promotion decision from MLflow)."""
    import subprocess
    import sys

    code = (
        "import sys; from hydraops.cli import run\n"
        "for verb in (['validate'], ['plan', '--json']): assert run(verb) == 0\n"
        "heavy = {'mlflow', 'bentoml', 'lightgbm', 'sklearn', 'pandas', 'duckdb', 'pyarrow', 'pandera', 'numpy'}\n"
        "print(sorted(heavy & {name.split('.')[0] for name in sys.modules}))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=churn, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_grid_search_declared_in_config_expands_to_every_combination(hydraops: Run, churn: Path) -> None:
    result = hydraops("validate", "-m", "hparams_search=grid", cwd=churn)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("is valid") == 6  # num_leaves 15,31,63 × learning_rate 0.05,0.1
