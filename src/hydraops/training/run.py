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
from typing import Any

from hydraops.config.schemas import ProjectSpec
from hydraops.config.secrets import Redactor
from hydraops.training.reproduce import OVERRIDES_ARTIFACT, OVERRIDES_DIGEST_TAG, REPRODUCES_ENV, REPRODUCES_TAG, overrides_record

#: Tag linking a child run to its sweep's parent run (MLflow's own nesting tag).
PARENT_TAG = "mlflow.parentRunId"
#: "passed", or "failed: N warnings at materialize" when the feature views' checks warned (validation=warn).
DATA_CHECKS_TAG = "hydraops.data_checks"


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


def train(
    spec: ProjectSpec,
    resolved: Mapping[str, Any],
    *,
    output_dir: Path,
    overrides: Sequence[str] = (),
    hydra_dir: Path | None = None,
    parent_run_id: str | None = None,
    redactor: Redactor | None = None,
) -> TrainResult:
    """Fit the declared model on the feature store's training table, track it in MLflow, register it.

    ``resolved`` and ``overrides`` are logged as given: the caller takes the secrets out (``redactor`` knows them,
    for the command line and Hydra's files)."""
    import warnings

    from hydraops.tracking.connection import tracking_failures
    from hydraops.tracking.lineage import command_line, config_digest, config_yaml, git_state, package_versions
    from hydraops.tracking.runs import connect, experiment_for_runs, tracked_run

    warnings.filterwarnings("ignore", category=UserWarning, module=r"mlflow\.")  # dataset-source and int-schema hints
    output_dir.mkdir(parents=True, exist_ok=True)
    connect(spec.stack)  # first: an unreachable store fails in seconds, before any feature is computed
    prepared = prepare(spec)
    config_text, digest = config_yaml(resolved), config_digest(resolved)
    redactor = redactor or Redactor()
    overrides_text, overrides_digest = overrides_record(overrides)
    tags = {
        **git_state(spec.paths.root), **package_versions(), **prepared.lineage,
        "hydraops.command": command_line(redactor), "hydraops.config_digest": digest,
        "hydraops.model": spec.model.name, OVERRIDES_DIGEST_TAG: overrides_digest,
    }  # fmt: skip
    if parent_run_id:
        tags[PARENT_TAG] = parent_run_id
    if os.environ.get(REPRODUCES_ENV):
        tags[REPRODUCES_TAG] = os.environ[REPRODUCES_ENV]
    with tracking_failures(spec.stack.tracking_uri, spec.stack.tracking_timeout):  # the store going away mid-run: a TrackingError naming it
        experiment_id = experiment_for_runs(spec.project, spec.stack.artifact_location)
        with tracked_run(experiment_id, run_name(spec, overrides), tags) as run:
            _log_config(resolved, config_text, overrides_text, hydra_dir, redactor)
            _log_inputs(spec, prepared)
            x_train, y_train = prepared.parts["train"]
            prepared.estimator.fit(x_train, y_train)
            metrics, model = _evaluate_and_log(spec, prepared, output_dir)
            version = _register(spec, model, metrics, digest)
    return TrainResult(run.info.run_id, experiment_id, model.uri, model.sha256, spec.registry.name, version, metrics)


def prepare(spec: ProjectSpec) -> Prepared:
    """Training table, split, features and the unfitted estimator; raises before any run exists."""
    import pandas as pd

    from hydraops.features import FeatureRepo, materialize
    from hydraops.digests import file_sha256
    from hydraops.features.repo import file_digest
    from hydraops.features.offline import current_manifest
    from hydraops.training.estimators import TrainingError, build_estimator, category_levels, prepare_features
    from hydraops.training.split import split_table

    labels = spec.features.labels
    if labels is None:
        raise TrainingError("train needs labels to learn from: declare features.labels (source, entity, timestamp, target)")
    repo = FeatureRepo.from_spec(spec)
    materialize(repo)  # idempotent: views already up to date are skipped
    lineage = {f"features.{view}.version": current_manifest(repo.offline_dir, view).version for view in spec.features.views}
    for view in spec.features.views:
        lineage.update({f"data.{Path(p).name}.sha256": d for p, d in current_manifest(repo.offline_dir, view).sources.items()})
    lineage.update({f"data.{Path(p).name}.sha256": file_digest(p) for p in repo.source_files(labels.source)})
    table_path = _training_table(repo, spec, lineage)
    lineage["hydraops.training_table_sha256"] = file_sha256(table_path)
    warnings = [w for view in spec.features.views for w in current_manifest(repo.offline_dir, view).warnings]
    lineage[DATA_CHECKS_TAG] = f"failed: {len(warnings)} warnings at materialize" if warnings else "passed"
    frame = pd.read_parquet(table_path)
    if spec.debug is not None and spec.debug.max_rows and len(frame) > spec.debug.max_rows:
        frame = frame.sample(n=spec.debug.max_rows, random_state=spec.seed).sort_index()
    features = list(spec.model.features) or [n for n in spec.features.feature_names() if n in frame.columns]
    splits = split_table(frame, spec.split, time_column=labels.timestamp, target=labels.target, task=spec.model.task)
    categorical = [f for f in features if not pd.api.types.is_numeric_dtype(frame[f]) and not pd.api.types.is_bool_dtype(frame[f])]
    levels = category_levels(splits.train[features], categorical)
    frames = {"train": splits.train, "valid": splits.valid, "test": splits.test}
    parts = {name: (prepare_features(part[features], levels), part[labels.target]) for name, part in frames.items()}
    estimator = build_estimator(spec.model, categorical=categorical, debug=spec.debug)
    return Prepared(table_path, features, levels, parts, frames, estimator, lineage)


def _training_table(repo, spec: ProjectSpec, lineage: Mapping[str, str]) -> Path:  # noqa: ANN001 - FeatureRepo
    """The training table for these view versions and label files: built once, then reused by every run
    and sweep job that needs the same one (written to a temp name and renamed, so parallel jobs are safe)."""
    from hydraops.features.historical import build_training_table

    key = json.dumps({"lineage": dict(lineage), "labels": str(spec.features.labels)}, sort_keys=True)
    path = Path(spec.paths.offline_store_dir) / "training_tables" / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.parquet"
    if not path.exists():
        partial = path.with_name(f".{path.stem}-{os.getpid()}.parquet")
        build_training_table(repo, str(partial))
        os.replace(partial, path)
    return path


def run_name(spec: ProjectSpec, overrides: Sequence[str]) -> str:
    """``lightgbm`` or ``lightgbm model.num_leaves=15 split=random``: readable in the MLflow UI."""
    shown = [o for o in overrides if not o.startswith("hydra")]
    return " ".join([spec.model.name, *shown])[:250]


def _log_config(resolved: Mapping[str, Any], config_yaml: str, overrides_text: str, hydra_dir: Path | None, redactor: Redactor) -> None:
    import mlflow

    from hydraops.tracking.params import OVERFLOW_ARTIFACT, flatten, split_params

    short, long = split_params(flatten(resolved))
    items = list(short.items())
    for start in range(0, len(items), 100):
        mlflow.log_params(dict(items[start : start + 100]))
    if long:
        mlflow.log_dict(long, OVERFLOW_ARTIFACT)
    mlflow.log_text(config_yaml, "config/config.yaml")
    mlflow.log_text(overrides_text, OVERRIDES_ARTIFACT)
    if hydra_dir is not None and hydra_dir.is_dir():  # Hydra's own copies, unresolved: URL passwords, copied env
        for path in sorted(p for p in hydra_dir.iterdir() if p.is_file()):
            mlflow.log_text(redactor.text(path.read_text()), f"config/.hydra/{path.name}")


def _log_inputs(spec: ProjectSpec, prepared: Prepared) -> None:
    """Each split as an MLflow dataset input (name, digest, source, schema, profile; context = the split's name),
    recorded as ``mlflow.data.from_pandas`` records it, with the two costly parts computed cheaply: the digest
    (:func:`_dataset_digest`) and the schema (:func:`_dataset_schema`)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    target = spec.features.labels.target
    datasets, contexts = [], []
    for name, frame in prepared.frames.items():
        if not len(frame):
            continue
        dataset = mlflow.data.from_pandas(
            frame, source=str(prepared.table_path), targets=target, name=f"{spec.project}-{name}", digest=_dataset_digest(frame)
        )
        vars(dataset)["schema"] = _dataset_schema(frame)  # PandasDataset.schema is a cached_property: fill it
        datasets.append(dataset)
        contexts.append(name)
    for attempt in range(3):
        try:
            mlflow.log_inputs(datasets, contexts, [None] * len(datasets))  # one store call for every split
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
    except Exception:
        return None


def _evaluate_and_log(spec: ProjectSpec, prepared: Prepared, output_dir: Path):  # noqa: ANN202
    import mlflow
    from mlflow.models import infer_signature

    from hydraops.tracking.models import log_model
    from hydraops.training.evaluate import evaluate, predict_scores
    from hydraops.training.plots import save_plots

    parts = {name: part for name, part in prepared.parts.items() if len(part[0])}
    evaluation = evaluate(prepared.estimator, parts, spec.evaluate)
    mlflow.log_metrics(evaluation.metrics)
    if evaluation.skipped:
        mlflow.log_dict(evaluation.skipped, "evaluation/skipped_metrics.json")
    plots = save_plots(prepared.estimator, evaluation, parts, spec.evaluate, output_dir / "plots", feature_names=prepared.features)
    for path in plots.values():
        mlflow.log_artifact(str(path), "plots")
    mlflow.log_dict({"features": prepared.features, "categories": prepared.levels}, "model_inputs.json")
    x_train = prepared.parts["train"][0]
    example = x_train.head(5)
    signature = infer_signature(x_train.head(200), predict_scores(prepared.estimator, x_train.head(200), spec.model.task))
    model = log_model(prepared.estimator, input_example=example, signature=signature, pip_requirements=_requirements())
    return evaluation.metrics, model


def _register(spec: ProjectSpec, model, metrics: Mapping[str, float], config_digest: str) -> str:  # noqa: ANN001
    import mlflow

    from hydraops.tracking.models import SHA_TAG

    key = f"test.{spec.evaluate.primary_metric}"
    tags = {SHA_TAG: model.sha256, "hydraops.config_digest": config_digest, "hydraops.flavor": model.flavor}
    if key in metrics:
        tags[key] = f"{metrics[key]:.6g}"
    version = mlflow.register_model(model.uri, spec.registry.name, tags=tags)
    return str(version.version)


def _requirements() -> list[str]:
    """Explicit pip requirements: MLflow's inference of them costs seconds a model."""
    from importlib import metadata

    names = ("lightgbm", "scikit-learn", "pandas", "numpy", "skops", "mlflow")
    return [f"{name}=={metadata.version(name)}" for name in names]


__all__ = ["DATA_CHECKS_TAG", "PARENT_TAG", "TrainResult", "prepare", "run_name", "train"]
