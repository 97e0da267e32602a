"""Schemas of the groups that act after training: registry, deploy, monitor, retrain."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from omegaconf import MISSING


class CandidateStrategy(StrEnum):
    latest = "latest"
    best_child = "best_child"
    version = "version"


class GateType(StrEnum):
    metric_threshold = "metric_threshold"
    beats_champion = "beats_champion"
    no_slice_regression = "no_slice_regression"
    data_checks_passed = "data_checks_passed"
    max_model_size_mb = "max_model_size_mb"
    max_predict_latency_ms = "max_predict_latency_ms"
    manual_approval = "manual_approval"


class Op(StrEnum):
    ge = "ge"
    gt = "gt"
    le = "le"
    lt = "lt"


class DeployTarget(StrEnum):
    bentoml = "bentoml"
    batch = "batch"
    container = "container"


class UnknownFields(StrEnum):
    """What the service does with a request field the model does not declare."""

    reject = "reject"
    ignore = "ignore"


class MissingPolicy(StrEnum):
    """What a looked-up feature that is missing or expired means for a served row."""

    reject = "reject"
    null = "null"
    default = "default"


class OnInvalid(StrEnum):
    """What batch scoring does with rows breaking a declared check: refuse the file, or leave them out, counted."""

    fail = "fail"
    skip = "skip"


class RetrainTrigger(StrEnum):
    on_breach = "on_breach"
    manual = "manual"


class BreachKind(StrEnum):
    """A kind of monitoring check (a violation's ``check``); ``quality`` stands for every data quality check
    (null_share, out_of_range, missing_column, feature_missing)."""

    data_drift = "data_drift"
    prediction_drift = "prediction_drift"
    dataset_drift = "dataset_drift"
    performance = "performance"
    quality = "quality"
    null_share = "null_share"
    out_of_range = "out_of_range"
    missing_column = "missing_column"
    feature_missing = "feature_missing"
    prediction_class_mix = "prediction_class_mix"


@dataclass
class CandidateSpec:
    strategy: CandidateStrategy = CandidateStrategy.latest
    metric: str | None = None
    version: int | None = None


@dataclass
class GateSpec:
    """One promotion rule; which fields it needs depends on ``type``."""

    type: GateType = MISSING
    metric: str | None = None
    split: str = "test"
    op: Op = Op.ge
    value: float | None = None
    min_delta: float = 0.0
    relative: bool = False
    slices: list[str] = field(default_factory=list)
    max_drop: float | None = None


@dataclass
class RegistrySpec:
    name: str = MISSING
    aliases: list[str] = field(default_factory=lambda: ["champion", "challenger", "previous"])
    candidate: CandidateSpec = field(default_factory=CandidateSpec)
    gates: list[GateSpec] = field(default_factory=list)
    on_pass: str = "champion"


@dataclass
class PredictionLogSpec:
    """The service's prediction log: every served row, queued off the request path and written in batches by
    a background thread (where to: ``stack.prediction_log``). A full queue drops the row, counted in /metrics."""

    enabled: bool = True
    queue_size: int = field(default=10_000, metadata={"expected": "rows waiting for the writer at most (more: dropped, counted)"})
    flush_rows: int = field(default=1000, metadata={"expected": "the writer writes once this many rows wait"})
    flush_seconds: float = field(default=5.0, metadata={"expected": "... or once the oldest waiting row is this old"})


@dataclass
class ServiceSpec:
    """The service of a bundle: where it listens (``hydraops serve``), its worker processes, what it offers."""

    name: str = MISSING
    host: str = "127.0.0.1"
    port: int = 3000
    workers: int = 1
    explain: bool = True
    online_features: bool = True
    unknown_fields: UnknownFields = field(
        default=UnknownFields.reject, metadata={"expected": "a request field the model does not take: refused (422) or ignored"}
    )
    missing: MissingPolicy = field(
        default=MissingPolicy.reject,
        metadata={"expected": "a looked-up feature missing or expired: the row is refused (422), served as null, or served as its declared default"},
    )
    defaults: dict[str, Any] = field(
        default_factory=dict,
        metadata={"expected": "feature → the value served when it is missing or expired (missing: default); checked against the feature's declaration"},
    )
    max_rows: int = field(default=1000, metadata={"expected": "rows per request at most (more: 413)"})
    max_body_bytes: int = field(default=1_048_576, metadata={"expected": "request body size at most, in bytes (more: 413)"})
    prediction_log: PredictionLogSpec = field(default_factory=PredictionLogSpec)
    alias_check_seconds: float | None = field(
        default=5.0, metadata={"expected": "seconds /readyz reuses the registry's answer on where deploy.alias points (null: never asks)"}
    )


@dataclass
class BatchSpec:
    input: str | None = None
    output: str = MISSING
    chunk_rows: int = 100_000
    on_invalid: OnInvalid = OnInvalid.fail


@dataclass
class ImageSpec:
    tag: str = MISSING
    base_image: str | None = None


@dataclass
class DeploySpec:
    target: DeployTarget = MISSING
    alias: str = "champion"
    #: An alias scored beside ``alias`` on every request, its predictions logged, never returned (null: none).
    shadow: str | None = field(default=None, metadata={"expected": "a registry alias (e.g. challenger) or null"})
    service: ServiceSpec = field(default_factory=ServiceSpec)
    batch: BatchSpec | None = None
    image: ImageSpec | None = None


class NumericDrift(StrEnum):
    """How a numeric column's drift is measured on a large sample (a small one: Kolmogorov-Smirnov)."""

    wasserstein = "wasserstein"
    psi = "psi"


class CategoricalDrift(StrEnum):
    """How a categorical column's drift is measured on a large sample (a small one: chi-square)."""

    jensenshannon = "jensenshannon"
    psi = "psi"


@dataclass
class ThresholdSpec:
    """Drift/quality methods and thresholds; an unset field inherits from the level above (default → group → column)."""

    numeric_method: NumericDrift | None = field(default=None, metadata={"expected": "numeric drift on n >= small_sample: wasserstein (normed) or psi"})
    categorical_method: CategoricalDrift | None = field(default=None, metadata={"expected": "categorical drift on n >= small_sample: jensenshannon or psi"})
    wasserstein: float | None = field(default=None, metadata={"expected": "drift when the normed Wasserstein distance >= this"})
    jensenshannon: float | None = field(default=None, metadata={"expected": "drift when the Jensen-Shannon distance >= this"})
    psi: float | None = field(default=None, metadata={"expected": "drift when the PSI >= this"})
    ks_pvalue: float | None = field(default=None, metadata={"expected": "n < small_sample, numeric: drift when the KS test's p < this"})
    chi2_pvalue: float | None = field(default=None, metadata={"expected": "n < small_sample, categorical: drift when the chi-square p < this"})
    small_sample: int | None = field(default=None, metadata={"expected": "below this many current values, a test (KS, chi-square) instead of a distance"})
    max_null_fraction: float | None = field(
        default=None, metadata={"expected": "quality: breach when the null share exceeds the reference's by more than this"}
    )
    max_out_of_range: float | None = field(
        default=None, metadata={"expected": "quality: breach when more than this share of values breaks the declared ge/le/isin"}
    )
    max_unseen: float | None = field(
        default=None, metadata={"expected": "quality: breach when more than this share of values are categories the reference never had"}
    )


class ExtraColumns(StrEnum):
    """What a current column that is no feature, key, label or log column is: a warning, or a breach."""

    warn = "warn"
    breach = "breach"


@dataclass
class ColumnGroupSpec:
    columns: list[str] = MISSING
    thresholds: ThresholdSpec = field(default_factory=ThresholdSpec)


@dataclass
class PerformanceSpec:
    """The model's metric on labelled predictions, per time chunk, against its test metric."""

    metric: str | None = field(default=None, metadata={"expected": "a metric of evaluate.metrics (default: evaluate.primary_metric)"})
    max_drop: float = field(default=0.05, metadata={"expected": "breach when a chunk's metric is worse than the test metric by more than this"})
    chunk: str = field(default="1d", metadata={"expected": "time chunk of the predictions: a duration, e.g. 1d, 12h, 7d"})
    min_rows: int = field(default=100, metadata={"expected": "labelled predictions a chunk needs to be judged (fewer: reported, not judged)"})
    max_age: str | None = field(default=None, metadata={"expected": "a label joins a prediction at most this old (a duration); null: any earlier one"})


@dataclass
class FeatureStatusSpec:
    """The most of a feature's served rows whose online lookup may be ``missing`` (no row for the entity) or
    ``expired`` (older than the view's TTL), read from the prediction log's ``status.<feature>`` columns."""

    max_missing: float = field(default=0.05, metadata={"expected": "a share between 0 and 1"})
    max_expired: float = field(default=0.05, metadata={"expected": "a share between 0 and 1"})


@dataclass
class MonitorSpec:
    reference: str = field(
        default="training", metadata={"expected": "training (the version's own reference profile), or a reference_profile.json or parquet/CSV file"}
    )
    current: str | None = None
    #: The prediction log over the last ``window`` (a duration: 7d) as current data, when no file is given.
    window: str | None = field(default=None, metadata={"expected": "a duration, e.g. 7d, or null"})
    #: The column of the current data that orders it in time (the prediction log: ``time``); null: for a file,
    #: the labels' timestamp (``features.labels.timestamp``) when it has that column, else it is not chunked.
    timestamp: str | None = field(default=None, metadata={"expected": "a column of the current data, or null: the log's time, a file's labels timestamp"})
    #: The current data is cut into chunks of this duration, judged one by one for the trend (null: not cut).
    chunk: str | None = field(default="1d", metadata={"expected": "a duration, e.g. 1d, 12h, 1w, or null"})
    min_rows: int = 100
    default: ThresholdSpec = field(default_factory=ThresholdSpec)
    groups: dict[str, ColumnGroupSpec] = field(default_factory=dict)
    columns: dict[str, ThresholdSpec] = field(default_factory=dict)
    prediction: ThresholdSpec = field(default_factory=ThresholdSpec)
    drift_share: float = field(default=0.5, metadata={"expected": "dataset drift when at least this share of the features drifted"})
    performance: PerformanceSpec = field(default_factory=PerformanceSpec)
    feature_status: FeatureStatusSpec = field(default_factory=FeatureStatusSpec)
    extra_columns: ExtraColumns = field(default=ExtraColumns.warn, metadata={"expected": "a current column the model does not know: warn or breach"})
    report_dir: str = MISSING


@dataclass
class HysteresisSpec:
    """Retrain only when at least ``breached`` of the last ``of`` time chunks of the monitored data breached."""

    breached: int = field(default=1, metadata={"expected": "chunks with a breach, at least (1 <= breached <= of)"})
    of: int = field(default=1, metadata={"expected": "the latest chunks looked at (an unchunked report is one chunk)"})


@dataclass
class RetrainSpec:
    """What ``hydraops retrain`` does with the latest monitoring result (``hydraops.monitoring.retrain_policy``)."""

    trigger: RetrainTrigger = field(default=MISSING, metadata={"expected": "on_breach (retrain on a breach of a `when` kind) or manual (only report)"})
    when: list[BreachKind] = field(default_factory=list, metadata={"expected": "the breach kinds that trigger a retrain"})
    promote: bool = field(default=True, metadata={"expected": "promote the new version through the registry gates"})
    overrides: list[str] = field(default_factory=list, metadata={"expected": "Hydra overrides the retrain's training run is composed with"})
    cooldown_hours: float = field(default=24.0, metadata={"expected": "no retrain within this many hours of the last one (0: none)"})
    hysteresis: HysteresisSpec = field(default_factory=HysteresisSpec)
