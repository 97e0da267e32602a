"""Schemas of the groups that say where things live and what the data is: paths, stack, data, features."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from omegaconf import MISSING


class Dtype(StrEnum):
    int64 = "int64"
    float64 = "float64"
    string = "string"
    bool = "bool"
    timestamp = "timestamp"
    category = "category"


class FileFormat(StrEnum):
    parquet = "parquet"
    csv = "csv"


class OnlineStoreType(StrEnum):
    sqlite = "sqlite"
    redis = "redis"
    memory = "memory"


class PredictionLogType(StrEnum):
    parquet = "parquet"
    postgresql = "postgresql"


class AggFunc(StrEnum):
    sum = "sum"
    count = "count"
    mean = "mean"
    min = "min"
    max = "max"
    std = "std"


class ValidationMode(StrEnum):
    strict = "strict"
    warn = "warn"


@dataclass
class PathsSpec:
    """The one place paths live; every other path interpolates from here."""

    root: str = MISSING
    data_dir: str = MISSING
    artifacts_dir: str = MISSING
    offline_store_dir: str = MISSING
    reports_dir: str = MISSING


@dataclass
class OnlineStoreSpec:
    """Where the latest feature values live; each ``type`` has its own schema beside its backend in
    ``hydraops.features.online``, chosen with ``stack/online_store=<type>``."""

    type: OnlineStoreType = MISSING


@dataclass
class PredictionLogStoreSpec:
    """Where a service writes its prediction log: parquet files under ``path`` (a directory), or the PostgreSQL
    ``table`` at ``url`` (``postgresql://host:port/database``; the serving machine gives the credentials)."""

    type: PredictionLogType = MISSING
    path: str | None = None
    url: str | None = None
    table: str = "prediction_log"


@dataclass
class StackSpec:
    """Where tracking, the registry, the online store and built bundles live."""

    name: str = MISSING
    tracking_uri: str = MISSING
    registry_uri: str | None = None
    artifact_location: str | None = None
    online_store: OnlineStoreSpec = field(default_factory=OnlineStoreSpec)
    bento_home: str = MISSING
    #: Where served predictions are logged (null: nowhere; a service then logs none).
    prediction_log: PredictionLogStoreSpec | None = None
    #: Seconds the tracking store has to answer: the check before a verb uses it, each request to a server,
    #: each database connection (PostgreSQL waits at least 2 s).
    tracking_timeout: float = 10.0
    #: How often a failed request to a tracking server is retried (after 0, 2, 4... s) before the verb fails.
    tracking_retries: int = 2
    #: The memory each DuckDB connection of the feature store may hold before it spills to disk (a DuckDB size:
    #: 1GB, 512MB); null: DuckDB's own default, 80 % of the machine's memory.
    duckdb_memory_limit: str | None = "1GB"


@dataclass
class ValueChecks:
    """Checks every value must pass: nulls, bounds (inclusive), allowed values."""

    nullable: bool = True
    ge: float | None = None
    le: float | None = None
    isin: list[Any] | None = None


@dataclass
class ColumnSpec(ValueChecks):
    """A declared column of a source: dtype and the checks its values must pass."""

    dtype: Dtype = MISSING
    unique: bool = False
    description: str = ""


@dataclass
class SourceSpec:
    """A table: a file path or glob under ``data.dir``, or a DuckDB query over other sources."""

    path: str | None = None
    query: str | None = None
    timestamp: str | None = None
    created_timestamp: str | None = None
    #: The IANA time zone of naive ``timestamp``/``created_timestamp`` values (``America/New_York``): they are
    #: read as instants in it. Without one, naive and aware timestamps are never compared.
    timezone: str | None = None
    columns: dict[str, ColumnSpec] = field(default_factory=dict)
    description: str = ""


@dataclass
class DataSpec:
    format: FileFormat = MISSING
    dir: str = MISSING
    sources: dict[str, SourceSpec] = field(default_factory=dict)


@dataclass
class EntitySpec:
    join_keys: list[str] = MISSING
    description: str = ""


@dataclass
class FeatureSpec(ValueChecks):
    """A row-level feature: a DuckDB SQL expression over the view's source."""

    expr: str = MISSING
    dtype: Dtype | None = None
    description: str = ""
    owner: str | None = None
    tags: list[str] = field(default_factory=list)


@dataclass
class AggregationSpec:
    """Time-window aggregations: expands to ``{column}_{agg}_{window}`` over the window (t - w, t]."""

    column: str = MISSING
    agg: list[AggFunc] = MISSING
    windows: list[str] = MISSING
    where: str | None = None
    description: str = ""


@dataclass
class FeatureViewSpec:
    entity: str = MISSING
    source: str = MISSING
    ttl: str | None = None
    features: dict[str, FeatureSpec] = field(default_factory=dict)
    aggregations: list[AggregationSpec] = field(default_factory=list)
    #: Whether an event stamped exactly at the requested instant counts. False: the values as of just
    #: before it (t − 1 µs), so a label row's own event (a flight's own delay) never feeds its features.
    include_current: bool = True
    description: str = ""
    owner: str | None = None
    tags: list[str] = field(default_factory=list)

    def feature_names(self) -> list[str]:
        """The features the view produces: its row-level features, then its expanded aggregations."""
        return [*self.features, *(name for *_, name in self.aggregates())]

    def aggregates(self) -> list[tuple[int, AggFunc, str, str]]:
        """(aggregation index, function, window, feature name ``{column}_{agg}_{window}``) of every aggregate."""
        return [
            (i, func, window, f"{aggregation.column}_{func.value}_{window}")
            for i, aggregation in enumerate(self.aggregations)
            for func in aggregation.agg
            for window in aggregation.windows
        ]


@dataclass
class LabelsSpec:
    """The entity/event table a training table is built on."""

    source: str = MISSING
    entity: str = MISSING
    timestamp: str = MISSING
    target: str = MISSING
    #: Request-time features: columns of the labels rows themselves given to the model (a flight's carrier
    #: and distance); at serving time they come with the request.
    features: list[str] = field(default_factory=list)


@dataclass
class FeaturesSpec:
    entities: dict[str, EntitySpec] = field(default_factory=dict)
    views: dict[str, FeatureViewSpec] = field(default_factory=dict)
    labels: LabelsSpec | None = None
    validation: ValidationMode = ValidationMode.strict

    def feature_names(self) -> list[str]:
        """Every feature the model can use, in declaration order: each view's row-level features and expanded
        aggregations, then the request-time features of the labels."""
        names = [name for view in self.views.values() for name in view.feature_names()]
        return names + (list(self.labels.features) if self.labels else [])
