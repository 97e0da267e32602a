"""One dataclass schema per config group, and the root schema that types a whole project config.

After composition, ``OmegaConf.to_object`` turns the config into these dataclasses: they are the typed
specs that everything below the CLI and the planner works with.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from omegaconf import MISSING

from hydraops.config.schemas.data import (
    AggFunc,
    AggregationSpec,
    ColumnSpec,
    DataSpec,
    Dtype,
    EntitySpec,
    FeatureSpec,
    FeaturesSpec,
    FeatureViewSpec,
    FileFormat,
    LabelsSpec,
    OnlineStoreSpec,
    OnlineStoreType,
    PathsSpec,
    PredictionLogStoreSpec,
    PredictionLogType,
    SourceSpec,
    StackSpec,
    ValidationMode,
    ValueChecks,
)
from hydraops.config.schemas.lifecycle import (
    BatchSpec,
    BreachKind,
    CandidateSpec,
    CandidateStrategy,
    CategoricalDrift,
    ColumnGroupSpec,
    DeploySpec,
    DeployTarget,
    ExtraColumns,
    FeatureStatusSpec,
    GateSpec,
    GateType,
    HysteresisSpec,
    ImageSpec,
    MissingPolicy,
    MonitorSpec,
    NumericDrift,
    Op,
    PerformanceSpec,
    PredictionLogSpec,
    RegistrySpec,
    RetrainSpec,
    RetrainTrigger,
    ServiceSpec,
    ThresholdSpec,
    UnknownFields,
)
from hydraops.config.schemas.training import (
    DebugSpec,
    Direction,
    EvaluateSpec,
    HistGradientBoostingSpec,
    HparamsSearchSpec,
    Impute,
    LightGBMSpec,
    LinearRegressionSpec,
    LogisticRegressionSpec,
    ModelSpec,
    PreprocessSpec,
    RandomForestSpec,
    SklearnEstimatorSpec,
    SplitMethod,
    SplitSpec,
    Task,
)


@dataclass
class ProjectSpec:
    """A whole project config: one field per config group."""

    project: str = MISSING
    seed: int = 42
    paths: PathsSpec = MISSING
    stack: StackSpec = MISSING
    data: DataSpec = MISSING
    features: FeaturesSpec = MISSING
    split: SplitSpec = MISSING
    model: ModelSpec = MISSING
    evaluate: EvaluateSpec = MISSING
    registry: RegistrySpec = MISSING
    deploy: DeploySpec = MISSING
    monitor: MonitorSpec = MISSING
    retrain: RetrainSpec = MISSING
    hparams_search: HparamsSearchSpec | None = None
    debug: DebugSpec | None = None


def expected(schema: Any, name: str) -> str | None:
    """What field ``name`` of the dataclass ``schema`` holds, from ``field(metadata={"expected": ...})``."""
    if not (isinstance(schema, type) and dataclasses.is_dataclass(schema)):
        return None
    found = next((f for f in dataclasses.fields(schema) if f.name == name), None)
    return found.metadata.get("expected") if found else None


#: The groups of a project config, in lifecycle order (``hparams_search`` and ``debug`` are optional).
GROUPS = (
    "paths", "stack", "data", "features", "split", "model", "evaluate",
    "registry", "deploy", "monitor", "retrain", "hparams_search", "debug",
)  # fmt: skip

__all__ = [
    "GROUPS", "AggFunc", "AggregationSpec", "BatchSpec", "BreachKind", "CandidateSpec",
    "CandidateStrategy", "CategoricalDrift", "ColumnGroupSpec", "ColumnSpec", "DataSpec", "DebugSpec", "DeploySpec",
    "DeployTarget", "Direction", "Dtype", "EntitySpec", "EvaluateSpec", "ExtraColumns", "FeatureSpec", "FeatureStatusSpec", "FeaturesSpec",
    "FeatureViewSpec", "FileFormat", "GateSpec", "GateType", "HistGradientBoostingSpec",
    "HparamsSearchSpec", "HysteresisSpec", "ImageSpec", "Impute", "LabelsSpec", "LightGBMSpec", "LinearRegressionSpec",
    "LogisticRegressionSpec", "MissingPolicy", "ModelSpec", "MonitorSpec", "NumericDrift", "OnlineStoreSpec", "OnlineStoreType", "Op",
    "PathsSpec", "PerformanceSpec", "PredictionLogSpec", "PredictionLogStoreSpec", "PredictionLogType", "PreprocessSpec", "ProjectSpec", "RandomForestSpec", "RegistrySpec",
    "RetrainSpec", "RetrainTrigger", "ServiceSpec", "SklearnEstimatorSpec", "SourceSpec", "SplitMethod",
    "SplitSpec", "StackSpec", "Task", "ThresholdSpec", "UnknownFields", "ValidationMode", "ValueChecks", "expected",
]  # fmt: skip
