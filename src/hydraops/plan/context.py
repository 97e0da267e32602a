"""The RunContext: what the stages need from outside the spec, built once at the edge (the CLI, a script).

Below ``cli/`` nothing reads the environment, Hydra's state or a process-wide MLflow URI: it is all here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydraops.config.secrets import Redactor
from hydraops.tracking.handle import Tracking

if TYPE_CHECKING:
    from hydraops.config.schemas import ProjectSpec
    from hydraops.features.progress import Report


@dataclass(frozen=True)
class RunContext:
    """The project's spec, the tracking handle, where outputs go, and what a run records about how it was started."""

    spec: ProjectSpec
    tracking: Tracking
    output_dir: Path
    overrides: tuple[str, ...] = ()  # the command line's overrides, secrets redacted
    config: Mapping[str, Any] = field(default_factory=dict)  # the resolved config, secrets redacted
    config_digest: str = ""
    command: str = ""  # the command as typed, secrets redacted
    hydra_dir: Path | None = None  # Hydra's copies of the config (.hydra/), logged with a run
    parent_run_id: str | None = None  # the sweep a training run is a child of
    reproduces: str | None = None  # the run a training run reproduces
    actor: str = ""  # who decides, in the registry's audit log
    redactor: Redactor = field(default_factory=Redactor)
    report: Report | None = None  # where long work says how far it is: (what, percent done)
    now: datetime | None = None  # the instant latest values are taken at (default: the current time)
    tags: Mapping[str, str] = field(default_factory=dict)  # lineage tags on every run, version and registry decision made (a retrain's trigger)

    @classmethod
    def create(cls, spec: ProjectSpec, cfg: Any = None, *, overrides: Sequence[str] = (),
               output_dir: Path | str | None = None, **values: Any) -> RunContext:  # fmt: skip
        """A context for ``spec`` from a script or notebook: tracking from ``spec.stack``; outputs under
        ``<paths.root>/outputs/api`` (or ``output_dir``); ``cfg`` (the composed config, default: the spec) is
        what runs log, secrets redacted, and what the config digest covers."""
        from hydraops.config.secrets import redacted_config
        from hydraops.registry.lock import default_actor
        from hydraops.tracking.lineage import config_digest

        resolved, redactor = redacted_config(spec if cfg is None else cfg)
        directory = Path(output_dir) if output_dir is not None else Path(spec.paths.root) / "outputs" / "api"
        values.setdefault("actor", default_actor())
        return cls(spec, Tracking.of(spec.stack), directory, tuple(redactor.command(overrides)), resolved,
                   config_digest(resolved), redactor=redactor, **values)  # fmt: skip


__all__ = ["RunContext"]
