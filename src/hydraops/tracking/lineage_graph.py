"""The lineage of a prediction, a model version or a training run, as typed records (``hydraops lineage``).

    Lineage
     ├── prediction      PredictionRecord: the request's rows in the prediction log (request id target only)
     ├── model_version   VersionNode: name, version, aliases, sha256, source run, latest promotion decision
     ├── run             RunNode: id, experiment, start, metrics, sweep, retrain trigger
     ├── config          ConfigNode: digest, overrides (and their digest), command, config artifact
     ├── data            DataNode: training table sha256, source file digests, MLflow dataset inputs
     ├── feature_views   view → offline store version
     ├── code            CodeNode: git commit and dirty flag, package versions
     └── after           AfterNode: registry decisions (alias moves), monitoring runs, retrains it triggered

Built by :func:`hydraops.tracking.lineage_build.lineage_of`; :meth:`Lineage.to_dict` is the JSON shape
``hydraops lineage --json`` prints (``format`` 1; documented in docs/concepts/lineage.md). A part that was
not recorded is None (or empty), never guessed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: The version of the JSON shape; bumped when a field changes meaning or goes away (new fields do not bump it).
FORMAT = 1


@dataclass(frozen=True)
class PredictedRow:
    """One row of a request: its position, entity keys, the values the model took and their statuses."""

    row: int
    keys: dict[str, str | None]
    features: dict[str, Any]
    statuses: dict[str, str | None]
    prediction: float | None
    shadow_model_version: str | None = None
    shadow_prediction: float | None = None


@dataclass(frozen=True)
class PredictionRecord:
    """A served request as the prediction log holds it."""

    request_id: str
    time: str  # ISO 8601, UTC: its first row's
    model_name: str
    model_version: str
    location: str  # where the log was read (no credentials)
    rows: list[PredictedRow] = field(default_factory=list)


@dataclass(frozen=True)
class VersionNode:
    """A registered model version: what it is, where it came from, and the latest decision about it."""

    name: str
    version: str
    aliases: list[str]
    created: str | None  # ISO 8601, UTC
    sha256: str | None
    flavor: str | None
    source_run_id: str | None
    promotion: dict[str, str] = field(default_factory=dict)  # the version's promotion tags, without the prefix
    triggered_by: str | None = None  # the monitoring run whose breaches led to this version (a retrain)


@dataclass(frozen=True)
class Trigger:
    """The monitoring run (and its breaches) that started a retrain."""

    monitoring_run_id: str
    breach_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RunNode:
    """The training run: where and when, its metrics (per split, no slices), the sweep and trigger it had."""

    run_id: str
    experiment: str
    name: str | None
    status: str
    start: str | None  # ISO 8601, UTC
    model: str | None  # the model option trained
    metrics: dict[str, float] = field(default_factory=dict)
    sweep_parent_run_id: str | None = None
    best_in_sweep: bool | None = None
    reproduces: str | None = None
    triggered_by: Trigger | None = None


@dataclass(frozen=True)
class ConfigNode:
    """How the run was configured: the resolved config's digest, the overrides replayable from it, the command."""

    digest: str | None
    overrides: list[str] | None  # config/overrides.json, when logged
    overrides_digest: str | None
    overrides_verified: bool | None  # the file still has the recorded digest (None: nothing to compare)
    command: str | None
    artifact: str | None  # the resolved config the run logged: runs:/<id>/config/config.yaml


@dataclass(frozen=True)
class DatasetNode:
    """An MLflow dataset input of the run (one per split)."""

    name: str
    digest: str
    context: str | None  # train, valid, test
    source: str


@dataclass(frozen=True)
class DataNode:
    """What the run was trained on."""

    training_table_sha256: str | None
    inputs_digest: str | None
    data_checks: str | None
    files: dict[str, str] = field(default_factory=dict)  # source file name → sha256
    datasets: list[DatasetNode] = field(default_factory=list)


@dataclass(frozen=True)
class CodeNode:
    """The code the run ran: the project's git commit, whether the tree was dirty, key package versions."""

    git_commit: str | None
    git_dirty: bool | None
    packages: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MonitoringNode:
    """A monitoring run that judged the version."""

    run_id: str
    start: str | None
    breached: bool | None
    breach_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RetrainNode:
    """A training run a monitoring run of the version triggered, and the versions it registered."""

    run_id: str
    monitoring_run_id: str
    breach_ids: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AfterNode:
    """What touched the version after it was registered, oldest first."""

    decisions: list[dict[str, Any]] = field(default_factory=list)  # audit entries about it or moving an alias to/from it
    monitoring: list[MonitoringNode] = field(default_factory=list)
    retrains: list[RetrainNode] = field(default_factory=list)


@dataclass(frozen=True)
class Lineage:
    """The chain from a target back to its code, and what happened to its model version since."""

    target: str
    kind: str  # request | alias | version | run
    prediction: PredictionRecord | None = None
    model_version: VersionNode | None = None
    other_versions: list[str] = field(default_factory=list)  # further versions registered from the run
    run: RunNode | None = None
    config: ConfigNode | None = None
    data: DataNode | None = None
    feature_views: dict[str, str] = field(default_factory=dict)
    code: CodeNode | None = None
    after: AfterNode = field(default_factory=AfterNode)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape: every field above, nested, with ``format`` first."""
        return {"format": FORMAT, **asdict(self)}


__all__ = [
    "FORMAT", "AfterNode", "CodeNode", "ConfigNode", "DataNode", "DatasetNode", "Lineage", "MonitoringNode", "PredictedRow",
    "PredictionRecord", "RetrainNode", "RunNode", "Trigger", "VersionNode",
]  # fmt: skip
