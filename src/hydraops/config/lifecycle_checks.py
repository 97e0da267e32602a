"""Checks of the lifecycle's later groups, over a typed project spec: the registry's gates, the deployed
service (its prediction log, shadow and defaults) and monitoring's columns and thresholds."""

from __future__ import annotations

import re
from collections.abc import Iterator

from hydraops.config.findings import Finding, one_of
from hydraops.config.schemas import DeployTarget, GateType, ProjectSpec
from hydraops.config.schemas.lifecycle import CandidateStrategy


def check_registry(spec: ProjectSpec) -> Iterator[Finding]:
    registry = spec.registry
    if registry.on_pass not in ("champion", "challenger"):
        yield "registry.on_pass", one_of(registry.on_pass, ["champion", "challenger"], "alias a promotion gives")
    elif registry.on_pass not in registry.aliases:
        yield "registry.on_pass", one_of(registry.on_pass, registry.aliases, "alias")
    strategy = registry.candidate.strategy
    if strategy is not CandidateStrategy.version and registry.candidate.metric and "." not in registry.candidate.metric:
        yield "registry.candidate.metric", f"'{registry.candidate.metric}' needs its split: e.g. valid.{registry.candidate.metric}"
    metrics = spec.evaluate.metrics
    needs_metric = {GateType.metric_threshold, GateType.beats_champion, GateType.no_slice_regression}
    for i, gate in enumerate(registry.gates):
        key = f"registry.gates[{i}]"
        if gate.type in needs_metric and gate.metric not in metrics:
            yield f"{key}.metric", one_of(gate.metric, metrics, "metric")
        needs_value = {GateType.metric_threshold, GateType.max_model_size_mb, GateType.max_predict_latency_ms}
        if gate.type in needs_value and gate.value is None:
            yield f"{key}.value", f"a {gate.type.value} gate needs a value"
        if gate.type is GateType.no_slice_regression and gate.max_drop is None:
            yield f"{key}.max_drop", "a no_slice_regression gate needs max_drop"


def check_deploy(spec: ProjectSpec) -> Iterator[Finding]:
    deploy = spec.deploy
    if deploy.alias not in spec.registry.aliases:
        yield "deploy.alias", f"{one_of(deploy.alias, spec.registry.aliases, 'alias')} (registry.aliases)"
    if deploy.target is DeployTarget.batch and deploy.batch is None:
        yield "deploy.batch", "a batch target needs deploy.batch (output and chunk_rows)"
    if deploy.target is DeployTarget.container and deploy.image is None:
        yield "deploy.image", "a container target needs deploy.image (tag)"
    if deploy.service.workers < 1:
        yield "deploy.service.workers", f"{deploy.service.workers}: a service needs at least 1 worker process"
    if not 1 <= deploy.service.port <= 65535:
        yield "deploy.service.port", f"{deploy.service.port}: expected a TCP port, 1 to 65535"
    yield from _check_prediction_log(spec)


def _check_prediction_log(spec: ProjectSpec) -> Iterator[Finding]:
    """The log's sizes, where it goes (``stack.prediction_log``), and a shadow alias, which only the log shows."""
    deploy, log, where = spec.deploy, spec.deploy.service.prediction_log, spec.stack.prediction_log
    for key in ("queue_size", "flush_rows"):
        if getattr(log, key) < 1:
            yield f"deploy.service.prediction_log.{key}", f"{getattr(log, key)}: expected at least 1"
    if log.flush_seconds <= 0:
        yield "deploy.service.prediction_log.flush_seconds", f"{log.flush_seconds}: expected a number of seconds > 0"
    if log.flush_rows > log.queue_size:
        yield "deploy.service.prediction_log.flush_rows", f"{log.flush_rows}: at most queue_size ({log.queue_size}), the rows that can wait"
    logs = log.enabled and where is not None
    if deploy.shadow is not None:
        if deploy.shadow == deploy.alias:
            yield "deploy.shadow", f"'{deploy.shadow}' is deploy.alias itself: shadow another alias (e.g. challenger)"
        elif deploy.shadow not in spec.registry.aliases:
            yield "deploy.shadow", f"{one_of(deploy.shadow, spec.registry.aliases, 'alias')} (registry.aliases)"
        if not logs:
            yield "deploy.shadow", "a shadow's predictions are only logged: it needs deploy.service.prediction_log.enabled and stack.prediction_log"
    if deploy.target in (DeployTarget.bentoml, DeployTarget.container) and log.enabled and where is None:
        yield (
            "stack.prediction_log",
            "the service logs its predictions (deploy.service.prediction_log.enabled) but the stack says nowhere: declare it, or disable the log",
        )
    if where is not None:
        from hydraops.config.schemas import PredictionLogType

        if where.type is PredictionLogType.parquet and not where.path:
            yield "stack.prediction_log.path", "a parquet prediction log needs a directory (e.g. ${paths.artifacts_dir}/prediction_log)"
        if where.type is PredictionLogType.postgresql and not str(where.url or "").startswith(("postgresql://", "postgres://")):
            yield "stack.prediction_log.url", f"{where.url!r}: a PostgreSQL log needs a postgresql://host:port/database URL"
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?", where.table):
            yield "stack.prediction_log.table", f"'{where.table}': expected a table name, optionally schema-qualified (schema.table)"
    from hydraops.serving.defaults import default_findings

    yield from default_findings(spec)


def check_monitor(spec: ProjectSpec) -> Iterator[Finding]:
    names = spec.features.feature_names()
    if not names:
        return
    grouped: dict[str, str] = {}
    for group, group_spec in spec.monitor.groups.items():
        for i, column in enumerate(group_spec.columns):
            if column not in names:
                yield f"monitor.groups.{group}.columns[{i}]", one_of(column, names, "feature")
            elif column in grouped:
                yield f"monitor.groups.{group}.columns[{i}]", f"'{column}' is already in group '{grouped[column]}': a column takes the thresholds of one group"
            grouped.setdefault(column, group)
    for column in spec.monitor.columns:
        if column not in names:
            yield f"monitor.columns.{column}", one_of(column, names, "feature")
    metric = spec.monitor.performance.metric
    if metric is not None and metric not in spec.evaluate.metrics:
        yield "monitor.performance.metric", one_of(metric, spec.evaluate.metrics, "metric")


def check_monitor_thresholds(spec: ProjectSpec) -> Iterator[Finding]:
    """Each declared threshold is in its range (:func:`hydraops.monitoring.thresholds.threshold_findings`)."""
    from hydraops.config.durations import parse_duration
    from hydraops.monitoring.thresholds import threshold_findings

    yield from threshold_findings(spec.monitor)
    for key in ("window", "chunk"):
        value = getattr(spec.monitor, key)
        if value is not None:
            try:
                if not parse_duration(value):
                    yield f"monitor.{key}", f"{value}: expected a duration above 0, e.g. 1d"
            except ValueError as error:
                yield f"monitor.{key}", str(error)
    for key in ("max_missing", "max_expired"):
        value = getattr(spec.monitor.feature_status, key)
        if not 0 <= value <= 1:
            yield f"monitor.feature_status.{key}", f"{value}: expected a share between 0 and 1"


def check_retrain(spec: ProjectSpec) -> Iterator[Finding]:
    """The cooldown is not negative; the hysteresis asks for 1 <= breached <= of chunks."""
    retrain = spec.retrain
    if retrain.cooldown_hours < 0:
        yield "retrain.cooldown_hours", f"{retrain.cooldown_hours:g}: expected hours >= 0 (0: no cooldown)"
    hysteresis = retrain.hysteresis
    if hysteresis.of < 1:
        yield "retrain.hysteresis.of", f"{hysteresis.of}: expected at least 1 chunk"
    elif not 1 <= hysteresis.breached <= hysteresis.of:
        yield "retrain.hysteresis.breached", f"{hysteresis.breached}: expected 1 <= breached <= of ({hysteresis.of})"
