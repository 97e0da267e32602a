"""Cross-reference checks over a typed project spec: what each part names must exist elsewhere.

Each check is a plain function of the spec returning ``(key path, message)`` pairs; ``validate`` adds the
config file each key came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from hydraops.config.durations import parse_duration
from hydraops.config.findings import Finding, one_of
from hydraops.config.lifecycle_checks import check_deploy, check_monitor, check_monitor_thresholds, check_registry, check_retrain
from hydraops.config.names import METRICS, MODELS, PLOTS
from hydraops.config.schemas import Dtype, ProjectSpec, SplitMethod

#: Sources, entities, feature views and features name folders, SQL columns and store keys.
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
IDENTIFIER_RULE = "letters, digits and '_', not starting with a digit (at most 128)"
#: The project and the registered model name MLflow experiments, models, bundles and key prefixes.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
NAME_RULE = "letters, digits, '_', '-' and '.', starting with a letter or digit (at most 128)"


def check_model(spec: ProjectSpec) -> Iterator[Finding]:
    model = spec.model
    entry = MODELS.get(model.name)
    if entry is None:
        yield "model.name", one_of(model.name, MODELS, "model")
        return
    if type(model) is not entry.spec:
        yield "model.name", f"'{model.name}' needs the schema {entry.spec.__name__}, got {type(model).__name__}"
    if entry.estimators and model.task not in entry.estimators:
        tasks = ", ".join(task.value for task in entry.estimators)
        yield "model.task", f"model '{model.name}' does not do {model.task.value}; it does: {tasks} (choose it with task=<one of them>)"
    if model.task != spec.evaluate.task:
        yield "evaluate.task", (f"'{spec.evaluate.task.value}' does not match model.task '{model.task.value}'"
                                f" (task={model.task.value} chooses both)")  # fmt: skip
    names = spec.features.feature_names()
    if spec.features.views:
        for i, feature in enumerate(model.features):
            if feature not in names:
                yield f"model.features[{i}]", one_of(feature, names, "feature")


def check_evaluate(spec: ProjectSpec) -> Iterator[Finding]:
    evaluate = spec.evaluate
    metrics = METRICS[evaluate.task]
    for i, metric in enumerate(evaluate.metrics):
        if metric not in metrics:
            yield f"evaluate.metrics[{i}]", one_of(metric, metrics, f"{evaluate.task.value} metric")
    if evaluate.primary_metric not in evaluate.metrics:
        yield "evaluate.primary_metric", one_of(evaluate.primary_metric, evaluate.metrics, "metric")
    for i, plot in enumerate(evaluate.plots):
        if plot not in PLOTS[evaluate.task]:
            yield f"evaluate.plots[{i}]", one_of(plot, PLOTS[evaluate.task], f"{evaluate.task.value} plot")
    yield from _slice_columns(spec)


def _slice_columns(spec: ProjectSpec) -> Iterator[Finding]:
    """``train`` slices each split by the columns the model reads (``model.features``, or every declared feature):
    a labels column or a feature the model leaves out is not there, and would fail after the run exists."""
    if not spec.features.views:
        return
    inputs = list(spec.model.features) or spec.features.feature_names()
    labels = _label_columns(spec)
    for i, column in enumerate(spec.evaluate.slices):
        if column in inputs:
            continue
        if column in labels:
            why = f"'{column}' is a column of the labels source '{spec.features.labels.source}', which the model does not read"
        elif column in spec.features.feature_names():
            why = f"feature '{column}' is not in model.features"
        else:
            why = f"unknown column '{column}'"
        yield f"evaluate.slices[{i}]", f"{why}; slices name the model's input features: {', '.join(sorted(inputs))}"


def check_data(spec: ProjectSpec) -> Iterator[Finding]:
    for name, source in spec.data.sources.items():
        key = f"data.sources.{name}"
        if (source.path is None) == (source.query is None):
            yield key, "give exactly one of 'path' (a file or glob under data.dir) or 'query' (DuckDB SQL)"
        for field in ("timestamp", "created_timestamp"):
            column = getattr(source, field)
            if column is not None and source.columns:
                if column not in source.columns:
                    yield f"{key}.{field}", one_of(column, source.columns, "column")
                elif source.columns[column].dtype is not Dtype.timestamp:
                    yield f"{key}.{field}", f"column '{column}' is {source.columns[column].dtype.value}, expected timestamp"
        if source.timezone is not None:
            yield from _time_zone(f"{key}.timezone", source.timezone)


def check_features(spec: ProjectSpec) -> Iterator[Finding]:
    features, sources = spec.features, spec.data.sources
    for name, entity in features.entities.items():
        if not entity.join_keys:
            yield f"features.entities.{name}.join_keys", "an entity needs at least one join key"
    for name, view in features.views.items():
        key = f"features.views.{name}"
        if view.entity not in features.entities:
            yield f"{key}.entity", one_of(view.entity, features.entities, "entity")
        if view.source not in sources:
            yield f"{key}.source", one_of(view.source, sources, "source")
        if view.ttl is not None:
            yield from _duration(f"{key}.ttl", view.ttl)
        if not view.features and not view.aggregations:
            yield key, "a feature view needs 'features' (row expressions) or 'aggregations'"
        declared = sources[view.source].columns if view.source in sources else {}
        if view.source in sources and sources[view.source].timestamp is None:  # static: valid at every instant
            if view.aggregations:
                yield f"{key}.aggregations", f"source '{view.source}' has no timestamp (data.sources.{view.source}.timestamp): time windows need one"
            if view.ttl is not None:
                yield (
                    f"{key}.ttl",
                    f"source '{view.source}' has no timestamp (data.sources.{view.source}.timestamp): its rows are valid at every instant and never expire",
                )
        for i, aggregation in enumerate(view.aggregations):
            if declared and aggregation.column not in declared and aggregation.column not in view.features:
                yield f"{key}.aggregations[{i}].column", one_of(aggregation.column, declared, "column")
            for j, window in enumerate(aggregation.windows):
                yield from _duration(f"{key}.aggregations[{i}].windows[{j}]", window)
        if view.entity in features.entities and declared:
            for join_key in features.entities[view.entity].join_keys:
                if join_key not in declared:
                    yield f"{key}.source", f"source '{view.source}' has no join key column '{join_key}' of entity '{view.entity}'"
    owners: dict[str, list[str]] = {}
    for name, view in features.views.items():
        for feature in view.feature_names():
            owners.setdefault(feature, []).append(f"view '{name}'")
    for feature in features.labels.features if features.labels else ():
        owners.setdefault(feature, []).append("features.labels.features")
    for feature, where in owners.items():
        if len(where) > 1:
            yield (
                "features.views",
                (
                    f"feature '{feature}' is declared by {' and '.join(where)}: feature names are columns of one training table "
                    "and must be unique (an aggregation is named {column}_{agg}_{window}: aggregate another column, or rename one)"
                ),
            )
    labels = features.labels
    if labels is not None:
        if labels.source not in sources:
            yield "features.labels.source", one_of(labels.source, sources, "source")
        if labels.entity not in features.entities:
            yield "features.labels.entity", one_of(labels.entity, features.entities, "entity")
        columns = _label_columns(spec)
        for field in ("timestamp", "target"):
            if columns and getattr(labels, field) not in columns:
                yield f"features.labels.{field}", one_of(getattr(labels, field), columns, "column")
        for i, column in enumerate(labels.features):
            if columns and column not in columns:
                yield f"features.labels.features[{i}]", one_of(column, columns, "column")
        for name, view in features.views.items() if columns else ():
            for join_key in features.entities[view.entity].join_keys if view.entity in features.entities else ():
                if join_key not in columns:
                    yield (
                        f"features.views.{name}.entity",
                        f"the labels source '{labels.source}' has no column '{join_key}', join key of entity '{view.entity}' "
                        f"that view '{name}' is keyed by: its features could not be joined to the labels",
                    )


def check_split(spec: ProjectSpec) -> Iterator[Finding]:
    split = spec.split
    if not 0 <= split.valid_fraction < 1 or not 0 < split.test_fraction < 1:
        yield "split", "valid_fraction must be in [0, 1) and test_fraction in (0, 1)"
    elif split.valid_fraction + split.test_fraction >= 1:
        yield "split", f"valid_fraction + test_fraction = {split.valid_fraction + split.test_fraction:g} leaves nothing to train on"
    yield from _duration("split.gap", split.gap)
    if split.method is SplitMethod.time:
        labels = spec.features.labels
        column = split.column or (labels.timestamp if labels else None)
        columns = _label_columns(spec)
        if column is None:
            yield "split.column", "a time split needs a column (or features.labels.timestamp)"
        elif columns and column not in columns:
            yield "split.column", f"{one_of(column, columns, 'column')} (the declared schema of the labels source)"
        elif columns and columns[column] is not Dtype.timestamp:
            yield "split.column", f"column '{column}' is {columns[column].value}, a time split needs a timestamp"


def check_online_store(spec: ProjectSpec) -> Iterator[Finding]:
    """The store's ``type`` is the one its schema is for (``stack/online_store=<type>`` sets both)."""
    from hydraops.features.online import ONLINE_STORES

    store = spec.stack.online_store
    schema = ONLINE_STORES[store.type]
    if type(store) is not schema:
        yield (
            "stack.online_store.type",
            (
                f"'{store.type.value}' needs the schema {schema.__name__}, got {type(store).__name__}: "
                f"choose the store with stack/online_store={store.type.value} (or `- online_store: {store.type.value}` "
                "in the stack's defaults)"
            ),
        )


def check_names(spec: ProjectSpec) -> Iterator[Finding]:
    """Names that end up in paths, SQL and keys are identifiers: no '/', no '..', no spaces or quotes."""
    for key, name in (("project", spec.project), ("registry.name", spec.registry.name)):
        if not NAME.fullmatch(name):
            yield key, f"'{name}' is not a valid name: use {NAME_RULE}"
    features = spec.features
    named = [(f"data.sources.{name}", name, "source") for name in spec.data.sources]
    named += [(f"features.entities.{name}", name, "entity") for name in features.entities]
    for view_name, view in features.views.items():
        key = f"features.views.{view_name}"
        named.append((key, view_name, "feature view"))
        named += [(f"{key}.features.{name}", name, "feature") for name in view.features]
        named += [(f"{key}.aggregations[{i}].column", a.column, "column") for i, a in enumerate(view.aggregations)]
    for key, name, what in named:
        if not IDENTIFIER.fullmatch(name):
            yield key, f"{what} name '{name}' is not an identifier: use {IDENTIFIER_RULE}"


def check_feature_sql(spec: ProjectSpec) -> Iterator[Finding]:
    """Feature expressions and query sources, parsed by DuckDB (imported only when there are any)."""
    from hydraops.features.expressions import sql_findings

    yield from sql_findings(spec)


CHECKS = (
    check_names,
    check_model,
    check_evaluate,
    check_data,
    check_features,
    check_split,
    check_registry,
    check_deploy,
    check_monitor,
    check_monitor_thresholds,
    check_retrain,
    check_feature_sql,
    check_online_store,
)


def cross_reference_findings(spec: ProjectSpec) -> list[Finding]:
    """Every dangling reference or inconsistent pair of values in the spec."""
    return [finding for check in CHECKS for finding in check(spec)]


def _label_columns(spec: ProjectSpec) -> dict[str, Dtype]:
    labels = spec.features.labels
    source = spec.data.sources.get(labels.source) if labels else None
    return {name: column.dtype for name, column in source.columns.items()} if source else {}


def _time_zone(key: str, name: str) -> Iterator[Finding]:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        yield key, f"'{name}' is not an IANA time zone (e.g. UTC, Europe/Paris, America/New_York)"


def _duration(key: str, text: str) -> Iterator[Finding]:
    try:
        parse_duration(text)
    except ValueError as error:
        yield key, str(error)
