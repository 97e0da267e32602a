"""Run a verb as a real ``@hydra.main`` app, so every Hydra feature works unchanged.

The verb's argv goes to Hydra as is (overrides, ``-m``, ``--cfg``, ``--info``, ``-cd/-cp/-cn``,
``--shell-completion``). Hydra is told to raise instead of printing its own report, so that every error
is rendered the one hydraops way: one readable message, no traceback unless ``HYDRA_FULL_ERROR=1``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from hydraops.cli.context import PARENT_ENV
from hydraops.cli.params import Param, parse_params
from hydraops.config.compose import CONFIG_NAME, find_conf_dir
from hydraops.config.schemas import ProjectSpec
from hydraops.errors import HydraopsError, interrupt_within, raise_interrupt_within

#: A verb's options, typed: its flags (``--json`` → ``{"json": True}``), its positional argument (a string) and
#: its parameters (``start=2025-01-01`` → a datetime; defaults filled in), parsed by :mod:`hydraops.cli.params`.
Options = dict[str, Any]
#: A verb's work: the typed spec, the composed config (for logging it as is), and the verb's options. What it
#: returns is the job's return value (a sweep's objective for sweepers that optimise, such as Optuna).
Task = Callable[[ProjectSpec, DictConfig, Options], object]

_CONFIG_DIR_FLAGS = ("-cp", "--config-path", "-cd", "--config-dir")
HELP_FLAGS = ("-h", "--help")


@dataclass(frozen=True)
class HydraVerb:
    """A verb that composes the project config with Hydra, validates it, then does its task.

    ``flags`` (``--json``) and ``params`` (``start=…``: declared :class:`Param`, not config keys) are the
    verb's own and are taken out of the arguments; everything else goes to Hydra. Parameters are parsed before
    Hydra runs: bad values are one UsageError. ``positional`` names the verb's one bare argument
    (``registry show churn`` → ``{"name": "churn"}``), when it takes one.
    """

    name: str
    task: Task
    read_only: bool = False
    flags: tuple[str, ...] = ()
    params: tuple[Param, ...] = ()
    positional: str | None = None

    def __call__(self, args: Sequence[str]) -> int:
        options: Options = {}
        given: dict[str, str] = {}
        hydra_args = []
        names = {param.name for param in self.params}
        if self.positional and args and not args[0].startswith("-") and "=" not in args[0]:
            options[self.positional], args = args[0], args[1:]
        for arg in args:
            name, sep, value = arg.partition("=")
            if arg in self.flags:
                options[arg.lstrip("-")] = True
            elif sep and name in names:
                given[name] = value
            else:
                hydra_args.append(arg)
        if not any(arg in HELP_FLAGS for arg in hydra_args):  # --help shows the parameters; it runs nothing
            options.update(parse_params(self.params, given, f"hydraops {self.name}"))
        return run_hydra_verb(self, options, hydra_args)


def run_hydra_verb(verb: HydraVerb, options: Options, args: list[str]) -> int:
    """Hand ``args`` to a ``@hydra.main`` app whose task validates the config and runs the verb."""
    import hydra

    from hydraops.cli.hydra_errors import explain_hydra_error
    from hydraops.config.guard import install

    config_path, search_dirs = _config_location(args)
    install()  # every config Hydra composes from here on has its hydra node checked before Hydra uses it
    task = VerbTask(verb, options)
    app = hydra.main(config_path=config_path, config_name=CONFIG_NAME, version_base="1.3")(task)
    try:
        with _scratch_outputs(verb.read_only) as extra, _argv(verb.name, args + extra), _hydra_raises():
            app()
    except BaseException as error:
        if os.environ.get(PARENT_ENV):
            from hydraops.cli.sweep import fail_open_sweep

            fail_open_sweep("FAILED" if interrupt_within(error) is None else "KILLED")  # an interrupt a library turned into its own error too
        if not isinstance(error, Exception):
            raise
        import yaml
        from hydra.errors import HydraException
        from omegaconf.errors import OmegaConfBaseException

        from hydraops.config.origins import explain_yaml_error

        if isinstance(error, yaml.YAMLError):
            raise explain_yaml_error(error) from error
        if isinstance(error, (HydraException, OmegaConfBaseException)):
            raise_interrupt_within(error)
            raise explain_hydra_error(error, search_dirs, _overrides(args)) from error
        raise
    if task.failures:
        raise task.failures[0]
    return 0


@dataclass
class VerbTask:
    """Hydra's task function: validate the composed config, then run the verb.

    A launcher running jobs in other processes (joblib, ...) pickles it: unpickled there, it installs the
    hydra-node guard before the worker composes its job's config.
    """

    verb: HydraVerb
    options: Options
    failures: list[HydraopsError] = field(default_factory=list)

    def __call__(self, cfg: DictConfig) -> object:
        from hydraops.config.origins import Origins
        from hydraops.config.validate import validate_config

        try:
            spec = validate_config(cfg, Origins.from_hydra())
            return self.verb.task(spec, cfg, self.options)
        except Exception as error:
            # Hydra's launchers catch a job's Exception and go on to the next job: an interrupt (Ctrl-C, SIGTERM)
            # that a library turned into its own error must stop the sweep, so it is raised as what it is.
            raise_interrupt_within(error)
            if not isinstance(error, HydraopsError) or _in_multirun():
                raise  # Hydra reports which job failed; a launcher may run jobs in other processes
            self.failures.append(error)  # reported below as one message, without Hydra's job banner
            return None

    def __reduce__(self) -> tuple[Callable[..., VerbTask], tuple[HydraVerb, Options]]:
        return _task_in_worker, (self.verb, self.options)


def _task_in_worker(verb: HydraVerb, options: Options) -> VerbTask:
    from hydraops.config.guard import install

    install()
    return VerbTask(verb, options)


def _in_multirun() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.get().mode == RunMode.MULTIRUN


def _config_location(args: Sequence[str]) -> tuple[str | None, list[Path]]:
    """The project's conf/ (found from the working directory) unless ``-cp``/``-cd`` say otherwise."""
    from hydraops._resources import packaged_dir

    library = packaged_dir("conf")
    given = [arg for arg in args if arg.split("=")[0] in _CONFIG_DIR_FLAGS]
    if given:
        dirs = [Path(args[i + 1]) for i, arg in enumerate(args[:-1]) if arg in ("-cd", "--config-dir")]
        dirs += [Path(arg.split("=", 1)[1]) for arg in given if "=" in arg]
        return None, [*dirs, library]
    conf_dir = find_conf_dir(".")
    return str(conf_dir), [conf_dir, library]


def _overrides(args: Sequence[str]) -> list[str]:
    return [arg for arg in args if "=" in arg and not arg.startswith("-")]


@contextmanager
def _argv(verb: str, args: list[str]) -> Iterator[None]:
    """Hydra reads its arguments from sys.argv; the job is named after the verb."""
    saved = sys.argv
    sys.argv = ["hydraops", *args, f"hydra.job.name={verb.replace(' ', '-')}"]
    try:
        yield
    finally:
        sys.argv = saved


@contextmanager
def _hydra_raises() -> Iterator[None]:
    """Make Hydra raise errors instead of printing them, so hydraops renders them one way."""
    saved = os.environ.get("HYDRA_FULL_ERROR")
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        yield
    finally:
        if saved is None:
            del os.environ["HYDRA_FULL_ERROR"]
        else:
            os.environ["HYDRA_FULL_ERROR"] = saved


@contextmanager
def _scratch_outputs(read_only: bool) -> Iterator[list[str]]:
    """A read-only verb writes nothing: Hydra's output folders go to a scratch dir removed afterwards."""
    if not read_only:
        yield []
        return
    scratch = tempfile.mkdtemp(prefix="hydraops-")
    try:
        yield [f"hydra.run.dir={scratch}", f"hydra.sweep.dir={scratch}", "hydra/job_logging=none", "hydra/hydra_logging=none"]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
