"""``hydraops train``: training table → split → fit → evaluate → one MLflow run → a registered version.

Everything that can be wrong with the data or the config is checked before the run is created; a
failure after that marks the run FAILED with the reason.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydraops.config.schemas import ProjectSpec
from hydraops.tracking import tags as T
from hydraops.training.reproduce import overrides_record

if TYPE_CHECKING:
    from hydraops.features.progress import Report
    from hydraops.plan.context import RunContext


@dataclass(frozen=True)
class TrainResult:
    run_id: str
    experiment_id: str
    model_uri: str
    model_sha256: str
    registered_model: str
    version: str
    metrics: dict[str, float]


@dataclass(frozen=True)
class Prepared:
    """What the run fits and logs, all computed before it starts."""

    table_path: Path
    features: list[str]
    levels: dict[str, list]
    parts: dict[str, tuple[Any, Any]]  # split → (X, y)
    frames: dict[str, Any]  # split → the rows of the training table
    estimator: Any
    lineage: dict[str, str]


def train(spec: ProjectSpec, ctx: RunContext, *, inputs_digest: str | None = None) -> TrainResult:
    """Fit the declared model on the feature store's training table (its views must be current), track it in
    MLflow through ``ctx.tracking``, register it. ``inputs_digest`` (``training.stage.inputs_digest``) is
    tagged on the run, so ``apply`` knows these inputs are trained.

    ``ctx.config`` and ``ctx.overrides`` are logged as given: the caller took the secrets out (``ctx.redactor``
    knows them, for Hydra's files)."""
    import warnings

    from hydraops.tracking.connection import tracking_failures
    from hydraops.tracking.lineage import config_yaml, package_versions, source_tags
    from hydraops.tracking.runs import experiment_for_runs, tracked_run
    from hydraops.training.logging import log_config

    warnings.filterwarnings("ignore", category=UserWarning, module=r"mlflow\.")  # dataset-source and int-schema hints
    ctx.output_dir.mkdir(parents=True, exist_ok=True)
    ctx.tracking.check()  # first: an unreachable store fails in seconds, before any feature is computed
    prepared = prepare(spec, ctx.report)  # then bad data or config, before the store is created or a run exists
    client = ctx.tracking.client
    overrides_text, overrides_digest = overrides_record(ctx.overrides)
    tags = {
        **source_tags(ctx.command or "hydraops train", spec.paths.root), **package_versions(), **prepared.lineage,
        T.COMMAND: ctx.command, T.CONFIG_DIGEST: ctx.config_digest, T.MODEL: spec.model.name, T.OVERRIDES_DIGEST: overrides_digest,
    }  # fmt: skip
    if ctx.parent_run_id:
        tags[T.PARENT_RUN] = ctx.parent_run_id
    if ctx.reproduces:
        tags[T.REPRODUCES] = ctx.reproduces
    if inputs_digest:
        tags[T.INPUTS_DIGEST] = inputs_digest
    tags.update(ctx.tags)  # a retrain's trigger: on the run and on its version
    with tracking_failures(ctx.tracking.tracking_uri, ctx.tracking.timeout):  # the store going away mid-run: a TrackingError naming it
        experiment_id = experiment_for_runs(client, spec.project, spec.stack.artifact_location)
        with tracked_run(client, experiment_id, run_name(spec, ctx.overrides), tags) as run:
            run_id = run.info.run_id
            log_config(client, run_id, ctx.config, config_yaml(ctx.config), overrides_text, ctx.hydra_dir, ctx.redactor)
            _log_inputs(client, run_id, spec, prepared)
            x_train, y_train = prepared.parts["train"]
            prepared.estimator.fit(x_train, y_train)
            metrics, model = _evaluate_and_log(client, run_id, spec, prepared, ctx.output_dir)
            version = _register(client, run_id, spec, model, metrics, ctx.config_digest, ctx.tags)
    return TrainResult(run_id, experiment_id, model.uri, model.sha256, spec.registry.name, version, metrics)


def prepare(spec: ProjectSpec, report: Report | None = None) -> Prepared:
    """Training table, split, features and the unfitted estimator; raises before any run exists."""
    import pandas as pd

    from hydraops.digests import file_sha256
    from hydraops.features import FeatureRepo
    from hydraops.features.offline import current_manifest
    from hydraops.training.estimators import TrainingError, build_estimator, category_levels, prepare_features
    from hydraops.training.split import split_table

    labels = spec.features.labels
    if labels is None:
        raise TrainingError("train needs labels to learn from: declare features.labels (source, entity, timestamp, target)")
    repo = FeatureRepo.from_spec(spec)
    _require_current(repo)
    lineage = {T.feature_view_version(view): current_manifest(repo.offline_dir, view).version for view in spec.features.views}
    for view in spec.features.views:
        lineage.update({T.data_file_sha256(Path(p).name): d for p, d in current_manifest(repo.offline_dir, view).sources.items()})
    lineage.update({T.data_file_sha256(Path(p).name): d for p, d in repo.source_digests(labels.source).items()})
    table_path = _training_table(repo, spec, lineage, report)
    lineage[T.TRAINING_TABLE_SHA256] = file_sha256(table_path)
    warnings = [w for view in spec.features.views for w in current_manifest(repo.offline_dir, view).warnings]
    lineage[T.DATA_CHECKS] = f"failed: {len(warnings)} warnings at materialize" if warnings else "passed"
    frame = pd.read_parquet(table_path)
    if spec.debug is not None and spec.debug.max_rows and len(frame) > spec.debug.max_rows:
        frame = frame.sample(n=spec.debug.max_rows, random_state=spec.seed).sort_index()
    if nulls := int(frame[labels.target].isna().sum()):
        raise TrainingError(
            f"the target column '{labels.target}' (features.labels.target) of the labels source '{labels.source}' has {nulls} null value(s): "
            "a model cannot learn from them; remove those rows (a query source: WHERE ... IS NOT NULL) or declare the column "
            f"nullable: false (data.sources.{labels.source}.columns) so features.validation: strict refuses them",
            key="features.labels.target",
            column=labels.target,
        )
    features = list(spec.model.features) or [n for n in spec.features.feature_names() if n in frame.columns]
    splits = split_table(frame, spec.split, time_column=labels.timestamp, target=labels.target, task=spec.model.task)
    categorical = [f for f in features if not pd.api.types.is_numeric_dtype(frame[f]) and not pd.api.types.is_bool_dtype(frame[f])]
    levels = category_levels(splits.train[features], categorical)
    frames = {"train": splits.train, "valid": splits.valid, "test": splits.test}
    parts = {name: (prepare_features(part[features], levels), part[labels.target]) for name, part in frames.items()}
    estimator = build_estimator(spec.model, categorical=categorical, debug=spec.debug)
    return Prepared(table_path, features, levels, parts, frames, estimator, lineage)


def _require_current(repo) -> None:
    """Every view's CURRENT timeline is its declared version (the features stage, planned before, made it so)."""
    from hydraops.errors import FeatureStoreError
    from hydraops.features.offline import current_manifest

    for view in repo.features.views:
        current, version = current_manifest(repo.offline_dir, view), repo.version(view)
        if current is None or current.version != version:
            found = f"holds {current.version}" if current else "holds nothing yet"
            raise FeatureStoreError(f"feature view '{view}': the offline store {found}, not version {version}; "
                                    "run `hydraops features materialize` (or `hydraops train`, which plans it)", key=f"features.views.{view}")  # fmt: skip


def _training_table(repo, spec: ProjectSpec, lineage: Mapping[str, str], report: Report | None) -> Path:
    """The training table for these view versions and label files: built once, then reused by every run
    and sweep job that needs the same one (written to a temp name and renamed, so parallel jobs are safe)."""
    from hydraops.features.historical import build_training_table

    source = spec.data.sources[spec.features.labels.source]  # a query source's text decides the rows too
    key = json.dumps({"lineage": dict(lineage), "labels": str(spec.features.labels), "source": str(source)}, sort_keys=True)
    path = Path(spec.paths.offline_store_dir) / "training_tables" / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.parquet"
    if not path.exists():
        partial = path.with_name(f".{path.stem}-{os.getpid()}.parquet")
        build_training_table(repo, str(partial), report)
        os.replace(partial, path)
    return path


def run_name(spec: ProjectSpec, overrides: Sequence[str]) -> str:
    """``lightgbm`` or ``lightgbm model.num_leaves=15 split=random``: readable in the MLflow UI."""
    shown = [o for o in overrides if not o.startswith("hydra")]
    return " ".join([spec.model.name, *shown])[:250]


def _log_inputs(client, run_id: str, spec: ProjectSpec, prepared: Prepared) -> None:
    """Each split as an MLflow dataset input (name, digest, source, schema, profile; context = the split's name),
    recorded as ``mlflow.data.from_pandas`` records it, with the two costly parts computed cheaply: the digest
    (:func:`_dataset_digest`) and the schema (:func:`_dataset_schema`)."""
    import mlflow
    from mlflow.entities import DatasetInput, InputTag
    from mlflow.exceptions import MlflowException
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    target = spec.features.labels.target
    datasets = []
    for name, frame in prepared.frames.items():
        if not len(frame):
            continue
        dataset = mlflow.data.from_pandas(frame, source=str(prepared.table_path), targets=target, name=f"{spec.project}-{name}", digest=_dataset_digest(frame))
        vars(dataset)["schema"] = _dataset_schema(frame)  # PandasDataset.schema is a cached_property: fill it
        datasets.append(DatasetInput(dataset._to_mlflow_entity(), [InputTag(MLFLOW_DATASET_CONTEXT, name)]))
    for attempt in range(3):
        try:
            client.log_inputs(run_id, datasets)  # one store call for every split
            break
        except MlflowException:  # parallel sweep jobs insert the same dataset at once: the loser retries
            if attempt == 2:
                raise


def _dataset_digest(frame: Any) -> str:
    """A fingerprint of the split's content: every row and column (MLflow's own hashes the first 10,000 rows,
    string and number columns only, and finds the string columns by testing the type of every cell)."""
    import pandas as pd

    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    digest.update(json.dumps([len(frame), *map(str, frame.columns)]).encode())
    return digest.hexdigest()[:16]


def _dataset_schema(frame: Any) -> Any:
    """The schema MLflow infers for ``frame`` (``mlflow.types.utils._infer_schema``, what ``from_pandas`` uses),
    inferred from a few representative rows instead of every cell: a column's inferred type comes from its
    dtype, or for object columns (strings, categories) from the types of its values, and it is ``required``
    unless some value is missing. The first row, each column's first missing value and the first row of each
    distinct (type, value) of every object column therefore give the same schema; None where MLflow's
    inference fails, as ``PandasDataset.schema`` does."""
    import numpy as np
    import pandas as pd
    from mlflow.types.utils import _infer_schema

    rows = {0}
    try:
        for name in frame.columns:
            column = frame[name]
            missing = column.isna().to_numpy()
            if missing.any():
                rows.add(int(missing.argmax()))
            if column.dtype.kind == "O":
                distinct = ~pd.DataFrame({"type": column.map(type), "value": column}).duplicated().to_numpy()
                rows.update(np.flatnonzero(distinct).tolist())
        sample = frame.iloc[sorted(rows)]
    except TypeError:  # unhashable values (lists, dicts): infer from every row
        sample = frame
    try:
        return _infer_schema(sample)
    except Exception:  # noqa: BLE001 - as PandasDataset.schema does
        return None


def _evaluate_and_log(client, run_id: str, spec: ProjectSpec, prepared: Prepared, output_dir: Path):
    import time

    from mlflow.entities import Metric
    from mlflow.models import infer_signature

    from hydraops.tracking.models import log_model
    from hydraops.training.evaluate import evaluate, predict_scores
    from hydraops.training.logging import log_model_inputs, log_reference_profile
    from hydraops.training.plots import save_plots

    parts = {name: part for name, part in prepared.parts.items() if len(part[0])}
    evaluation = evaluate(prepared.estimator, parts, spec.evaluate)
    now = int(time.time() * 1000)
    client.log_batch(run_id, metrics=[Metric(key, float(value), now, 0) for key, value in evaluation.metrics.items()])
    if evaluation.skipped:
        client.log_dict(run_id, evaluation.skipped, "evaluation/skipped_metrics.json")
    plots = save_plots(prepared.estimator, evaluation, parts, spec.evaluate, output_dir / "plots", feature_names=prepared.features)
    for path in plots.values():
        client.log_artifact(run_id, str(path), "plots")
    log_model_inputs(client, run_id, prepared)
    log_reference_profile(client, run_id, spec, prepared, evaluation.metrics)
    x_train = prepared.parts["train"][0]
    example = x_train.head(5)
    signature = infer_signature(x_train.head(200), predict_scores(prepared.estimator, x_train.head(200), spec.model.task))
    model = log_model(client, run_id, prepared.estimator, input_example=example, signature=signature, pip_requirements=_requirements())
    return evaluation.metrics, model


def _register(client, run_id: str, spec: ProjectSpec, model, metrics: Mapping[str, float], config_digest: str, lineage: Mapping[str, str]) -> str:
    from hydraops.tracking.models import register_model

    key = f"test.{spec.evaluate.primary_metric}"
    tags = {T.MODEL_SHA256: model.sha256, T.CONFIG_DIGEST: config_digest, T.FLAVOR: model.flavor, **lineage}
    if key in metrics:
        tags[key] = f"{metrics[key]:.6g}"
    return register_model(client, spec.registry.name, model, run_id, tags)


def _requirements() -> list[str]:
    """Explicit pip requirements: MLflow's inference of them costs seconds a model."""
    from importlib import metadata

    names = ("lightgbm", "scikit-learn", "pandas", "numpy", "skops", "mlflow")
    return [f"{name}=={metadata.version(name)}" for name in names]


__all__ = ["TrainResult", "prepare", "run_name", "train"]
