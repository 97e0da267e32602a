"""The edge where a run's context is read: Hydra's state inside a job, and the ``HYDRAOPS_*`` environment
variables that carry values across process boundaries (a launcher's workers inherit them). Nothing below
``cli/`` reads either: stages get a :class:`~hydraops.plan.context.RunContext`."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from hydraops.config.schemas import ProjectSpec
    from hydraops.plan.context import RunContext

#: The command as typed, set by ``hydraops.cli.main`` before Hydra rewrites sys.argv; inherited by workers.
COMMAND_ENV = "HYDRAOPS_COMMAND"
#: A sweep's parent run, set by the sweep callback in the main process; inherited by the launcher's workers.
PARENT_ENV = "HYDRAOPS_PARENT_RUN_ID"
#: Who decides in the registry's audit log (a CI job's name); default ``user@host``.
ACTOR_ENV = "HYDRAOPS_ACTOR"


def typed_command() -> str:
    """The command as typed: ``HYDRAOPS_COMMAND`` when set (by the console entry point), else sys.argv."""
    return os.environ.get(COMMAND_ENV) or shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])


def actor() -> str:
    """Who acts: ``HYDRAOPS_ACTOR`` when set, else ``user@host``."""
    from hydraops.registry.lock import default_actor

    return os.environ.get(ACTOR_ENV) or default_actor()


def job_context(spec: ProjectSpec, cfg: DictConfig) -> RunContext:
    """The RunContext of the Hydra job running now (or of the last composition, for a verb called from Python):
    its output dir, overrides and ``.hydra`` copies, the
    config resolved with its secrets (and those of ``hydra.job.env_copy``) redacted, the sweep's parent run,
    the command and the actor."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    if not HydraConfig.initialized():  # a verb called from Python on a composed config
        return context(spec, cfg, Path(spec.paths.root) / "outputs" / "api", ())
    hydra = HydraConfig.get()
    output = OmegaConf.select(hydra, "runtime.output_dir", default=None)  # unset under the Compose API
    output_dir = Path(output) if output else Path(spec.paths.root) / "outputs" / "api"
    copied = {name: os.environ[name] for name in hydra.job.env_copy if name in os.environ}
    overrides = [str(o) for o in OmegaConf.to_container(hydra.overrides.task, resolve=False)]
    hydra_dir = output_dir / hydra.output_subdir if hydra.output_subdir else None
    return context(spec, cfg, output_dir, overrides, environment=copied, hydra_dir=hydra_dir,
                   parent_run_id=os.environ.get(PARENT_ENV) or None)  # fmt: skip


def context(spec: ProjectSpec, cfg: DictConfig, output_dir: Path, overrides: Sequence[str], *,
            environment: Mapping[str, str] | None = None, command: str | None = None, **values: Any) -> RunContext:  # fmt: skip
    """A RunContext for ``spec`` composed as ``cfg`` with ``overrides``: secrets redacted everywhere."""
    from hydraops.config.secrets import redacted_config
    from hydraops.plan.context import RunContext
    from hydraops.tracking.handle import Tracking
    from hydraops.tracking.lineage import command_line, config_digest

    resolved, redactor = redacted_config(cfg, environment)
    return RunContext(
        spec, Tracking.of(spec.stack), output_dir, tuple(redactor.command(overrides)), resolved, config_digest(resolved),
        command=command_line(command or typed_command(), redactor), actor=actor(), redactor=redactor, **values,
    )  # fmt: skip
