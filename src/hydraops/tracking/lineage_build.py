"""Build a :class:`~hydraops.tracking.lineage_graph.Lineage` from a target: pure reading, through one
``MlflowClient`` with explicit URIs (``Tracking.client``) and the prediction log.

    lineage_of(client, "churn@champion", project="churn")
    lineage_of(client, "churn/3", project="churn")
    lineage_of(client, RUN_ID, project="churn")
    lineage_of(client, REQUEST_ID, project="churn", prediction_log=spec.stack.prediction_log)

A 32-character id may be a run id or a request id (the service's are uuid4 hex): the tracking store is asked
first, then the prediction log. ``run:ID`` and ``request:ID`` say which. A target that names nothing is a
UsageError (exit 2) naming what was tried.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from hydraops.errors import ServingError, UsageError
from hydraops.tracking import tags as T
from hydraops.tracking.lineage_graph import CodeNode, ConfigNode, DataNode, DatasetNode, Lineage, PredictedRow, PredictionRecord, RunNode, Trigger, VersionNode
from hydraops.tracking.reading import _missing_as_none

_VERSION = re.compile(r"(?P<model>.+)/(?P<version>\d+)")
#: The log's columns a PredictedRow takes as they are.
_SHADOWED = ("prediction", "shadow_model_version", "shadow_prediction")
_HINT = "TARGET is a request id, MODEL@ALIAS, MODEL/VERSION or a run id (run:ID / request:ID say which)"


def lineage_of(client, target: str, *, project: str, prediction_log: Any = None) -> Lineage:
    """The lineage of ``target``; ``project`` names the experiments (``<project>``, ``<project>-monitoring``),
    ``prediction_log`` is where requests are looked up (a path, a URL or ``stack.prediction_log``; None: nowhere)."""
    from hydraops.tracking.lineage_after import after_of

    kind, value = _classify(target.strip())
    prediction, run = None, None
    if kind == "alias":
        model, _, alias = value.rpartition("@")
        version = _by_alias(client, model, alias)
    elif kind == "version":
        match = _VERSION.fullmatch(value)
        version = _by_number(client, match["model"], match["version"])
    else:
        run = _missing_as_none(lambda: client.get_run(value)) if kind in ("run", "id") else None
        if run is None and kind == "run":
            raise UsageError(f"no run {value} in the tracking store (stack.tracking_uri)", key="target", hint=_HINT)
        if run is None:
            kind, prediction = "request", _prediction(value, prediction_log, also_tried="a run" if kind == "id" else None)
            version = _missing_as_none(lambda: client.get_model_version(prediction.model_name, prediction.model_version))
        else:
            kind, version = "run", _of_run(client, run.info.run_id)
    if run is None and version is not None and version.run_id:
        run = _missing_as_none(lambda: client.get_run(version.run_id))
    node = _version_node(client, version) if version is not None else None
    others = client.search_model_versions(f"run_id='{run.info.run_id}'") if kind == "run" else []
    lineage = Lineage(target, kind, prediction, node, sorted(f"{v.name}/{v.version}" for v in others
                                                             if node is None or (v.name, str(v.version)) != (node.name, node.version)))  # fmt: skip
    if run is not None:
        lineage = _with_run(client, lineage, run)
    return lineage if node is None else replace(lineage, after=after_of(client, node, project))


def _classify(target: str) -> tuple[str, str]:
    """``(kind, value)``: alias, version, run, request, or id (a run or a request)."""
    head, sep, rest = target.partition(":")
    if sep and head in ("run", "request") and rest:
        return head, rest
    if not target:
        raise UsageError("lineage needs a TARGET", key="target", hint=_HINT)
    if "@" in target:
        model, _, alias = target.rpartition("@")
        if model and alias:
            return "alias", target
    if _VERSION.fullmatch(target):
        return "version", target
    return "id", target


def _registered(client, model: str):
    found = _missing_as_none(lambda: client.get_registered_model(model))
    if found is None:
        raise UsageError(f"no registered model '{model}' in the registry (stack.registry_uri)", key="target", hint=_HINT)
    return found


def _by_alias(client, model: str, alias: str):
    aliases = dict(_registered(client, model).aliases)
    if alias not in aliases:
        known = ", ".join(f"{a} → v{v}" for a, v in sorted(aliases.items())) or "none"
        raise UsageError(f"no alias '{alias}' on {model} (aliases: {known})", key="target", hint=_HINT)
    return client.get_model_version(model, str(aliases[alias]))


def _by_number(client, model: str, number: str):
    _registered(client, model)
    found = _missing_as_none(lambda: client.get_model_version(model, number))
    if found is None:
        numbers = sorted(int(v.version) for v in client.search_model_versions(f"name='{model}'"))
        have = f"versions {numbers[0]} to {numbers[-1]}" if len(numbers) > 1 else f"version {numbers[0]}" if numbers else "no version"
        raise UsageError(f"no version {number} of {model} (it has {have})", key="target", hint=_HINT)
    return found


def _of_run(client, run_id: str):
    """The newest version registered from the run (None when it registered none)."""
    versions = sorted(client.search_model_versions(f"run_id='{run_id}'"), key=lambda v: (v.name, -int(v.version)))
    return versions[0] if versions else None


def _prediction(request_id: str, location: Any, also_tried: str | None) -> PredictionRecord:
    """The request's rows in the prediction log; UsageError naming the log (and what else was tried)."""
    from hydraops.serving.prediction_log import FEATURE, KEY, STATUS, read_request

    what = f"no {'run or ' if also_tried else ''}request '{request_id}'"
    tried = f"not {also_tried} in the tracking store, and " if also_tried else ""
    if location is None:
        raise UsageError(f"{what}: {tried}no prediction log is declared (stack.prediction_log)", key="target", hint=_HINT)
    label = log_label(location)
    try:
        rows = read_request(location, request_id)
    except ServingError as error:
        raise UsageError(f"{what}: {tried}{error}", key="target", hint=_HINT) from None
    if rows.empty:
        raise UsageError(f"{what}: {tried}not in the prediction log at {label}", key="target", hint=_HINT)
    first = rows.iloc[0]

    def prefixed(record, prefix: str) -> dict[str, Any]:
        return {name[len(prefix) :]: plain(value) for name, value in record.items() if name.startswith(prefix)}

    found = [
        PredictedRow(int(r["row"]), prefixed(r, KEY), prefixed(r, FEATURE), prefixed(r, STATUS), *(plain(r.get(c)) for c in _SHADOWED))
        for _, r in rows.iterrows()
    ]
    return PredictionRecord(request_id, plain(first["time"]), str(first["model_name"]), str(first["model_version"]), label, found)


def log_label(location: Any) -> str:
    """Where a prediction log is, for messages: its directory, or its URL (no credentials) and table."""
    from hydraops.config.secrets import redact_url
    from hydraops.serving.prediction_log import resolve

    kind, where, table = resolve(location)
    return where if kind == "parquet" else f"{redact_url(where)} (table {table})"


def _version_node(client, version) -> VersionNode:
    aliases = dict(_registered(client, version.name).aliases)
    tags = dict(version.tags)
    promotion = {key[len(T.PROMOTION_PREFIX) :]: value for key, value in sorted(tags.items()) if key.startswith(T.PROMOTION_PREFIX)}
    return VersionNode(version.name, str(version.version), sorted(a for a, v in aliases.items() if str(v) == str(version.version)),
                       moment(version.creation_timestamp), tags.get(T.MODEL_SHA256), tags.get(T.FLAVOR), version.run_id, promotion,
                       tags.get(T.TRIGGERED_BY))  # fmt: skip


def _with_run(client, lineage: Lineage, run) -> Lineage:
    """``lineage`` with the run and everything its tags, inputs and artifacts record."""
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    from hydraops.tracking.readers import data_lineage_of_tags, sweep_of

    tags, run_id = dict(run.data.tags), run.info.run_id
    sweep = sweep_of(client, run_id)
    trigger = Trigger(tags[T.TRIGGERED_BY], breach_ids(tags.get(T.BREACH_IDS))) if tags.get(T.TRIGGERED_BY) else None
    experiment = client.get_experiment(run.info.experiment_id)
    metrics = {key: value for key, value in sorted(run.data.metrics.items()) if ":" not in key}  # per split; slices left out
    node = RunNode(run_id, experiment.name if experiment else str(run.info.experiment_id), tags.get(T.RUN_NAME), run.info.status,
                   moment(run.info.start_time), tags.get(T.MODEL), metrics, sweep.parent_run_id if sweep and sweep.parent_run_id != run_id else None,
                   sweep.is_best(run_id) if sweep and sweep.parent_run_id != run_id else None, tags.get(T.REPRODUCES), trigger)  # fmt: skip
    data = data_lineage_of_tags(tags)
    datasets = [DatasetNode(d.dataset.name, d.dataset.digest, next((t.value for t in d.tags if t.key == MLFLOW_DATASET_CONTEXT), None),
                            _source(d.dataset.source)) for d in run.inputs.dataset_inputs] if run.inputs else []  # fmt: skip
    dirty = tags.get(T.GIT_DIRTY)
    packages = {key[len(T.PACKAGE_PREFIX) :]: value for key, value in sorted(tags.items()) if key.startswith(T.PACKAGE_PREFIX)}
    return replace(
        lineage, run=node, config=_config(client, run_id, tags),
        data=DataNode(data.training_table_sha256, tags.get(T.INPUTS_DIGEST), tags.get(T.DATA_CHECKS), data.data_sha256, datasets),
        feature_views=data.view_versions, code=CodeNode(tags.get(T.SOURCE_GIT_COMMIT), None if dirty is None else dirty == "true", packages),
    )  # fmt: skip


def _config(client, run_id: str, tags: dict[str, str]) -> ConfigNode:
    """The config part: the logged config's artifact, and the overrides file checked against its digest."""
    import hashlib
    import tempfile
    from pathlib import Path

    from hydraops.training.reproduce import OVERRIDES_ARTIFACT

    logged = {artifact.path for artifact in client.list_artifacts(run_id, "config")}
    overrides, verified, recorded = None, None, tags.get(T.OVERRIDES_DIGEST)
    if OVERRIDES_ARTIFACT in logged:
        with tempfile.TemporaryDirectory(prefix="hydraops-lineage-") as scratch:
            text = Path(client.download_artifacts(run_id, OVERRIDES_ARTIFACT, scratch)).read_text()
        try:
            overrides = [str(o) for o in json.loads(text)]
        except (ValueError, TypeError):
            overrides = None
        verified = None if recorded is None else hashlib.sha256(text.encode()).hexdigest() == recorded
    artifact = f"runs:/{run_id}/config/config.yaml" if "config/config.yaml" in logged else None
    return ConfigNode(tags.get(T.CONFIG_DIGEST), overrides, recorded, verified, tags.get(T.COMMAND), artifact)


def _source(text: str) -> str:
    """A dataset source's URI (MLflow stores it as JSON), or the text as is."""
    try:
        parsed = json.loads(text)
    except (ValueError, TypeError):
        return str(text)
    return str(parsed.get("uri", text)) if isinstance(parsed, dict) else str(text)


def breach_ids(text: str | None) -> list[str]:
    """The ids of a ``hydraops.breach_ids`` tag (comma-separated)."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def moment(value: Any) -> str | None:
    """An ISO 8601 UTC time from epoch milliseconds (MLflow's) or a timestamp; None for none."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value / 1000, UTC).isoformat(timespec="milliseconds")
    return plain(value)


def plain(value: Any) -> Any:
    """A logged cell as a JSON value: null for missing, Python numbers, ISO text for times."""
    import math

    if value is None:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):  # a numpy scalar
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    return value
