"""Which method and threshold applies to a column, and which config level set it.

Every field of a ``ThresholdSpec`` resolves on its own, from the most specific level that sets it:

1. ``monitor.columns.<column>``
2. ``monitor.groups.<group>.thresholds`` of the first group (in declaration order) listing the column
3. ``monitor.default``
4. hydraops' built-in defaults (Evidently's: :class:`~hydraops.monitoring.drift.DriftThresholds`)

The model's predictions take ``monitor.prediction`` in place of levels 1 and 2.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from hydraops.config.schemas import MonitorSpec, ThresholdSpec
from hydraops.monitoring.drift import DriftThresholds, Method

BUILT_IN = "hydraops default"
QUALITY = {"max_null_fraction": 0.05, "max_out_of_range": 0.01, "max_unseen": 0.01}  # built-in quality limits
DEFAULTS: dict[str, Any] = {**dataclasses.asdict(DriftThresholds()), **QUALITY}
FIELD_OF = {Method.wasserstein: "wasserstein", Method.psi: "psi", Method.jensenshannon: "jensenshannon",
            Method.ks: "ks_pvalue", Method.chisquare: "chi2_pvalue"}  # fmt: skip


@dataclass(frozen=True)
class Resolved:
    value: Any
    source: str  # the config level that set it (``monitor.columns.age``), or BUILT_IN


@dataclass(frozen=True)
class ColumnThresholds:
    """A column's resolved drift settings and quality limits, with the level each field came from."""

    column: str
    drift: DriftThresholds
    max_null_fraction: float
    sources: Mapping[str, str]  # ThresholdSpec field -> level
    max_out_of_range: float = QUALITY["max_out_of_range"]
    max_unseen: float = QUALITY["max_unseen"]

    def source(self, method: Method) -> str:
        """The level that set the threshold ``method`` is judged against."""
        return self.sources[FIELD_OF[Method(method)]]


def levels(monitor: MonitorSpec, column: str, *, prediction: bool = False) -> Iterator[tuple[str, ThresholdSpec]]:
    """The config levels that apply to ``column``, most specific first (without the built-in defaults)."""
    if prediction:
        yield "monitor.prediction", monitor.prediction
    else:
        if column in monitor.columns:
            yield f"monitor.columns.{column}", monitor.columns[column]
        group = next((name for name, spec in monitor.groups.items() if column in spec.columns), None)
        if group is not None:
            yield f"monitor.groups.{group}.thresholds", monitor.groups[group].thresholds
    yield "monitor.default", monitor.default


def resolve(monitor: MonitorSpec, column: str, *, prediction: bool = False) -> dict[str, Resolved]:
    """Every ThresholdSpec field for ``column``: its value and the level that set it."""
    found = list(levels(monitor, column, prediction=prediction))
    resolved = {}
    for spec_field in dataclasses.fields(ThresholdSpec):
        name = spec_field.name
        level = next(((key, getattr(spec, name)) for key, spec in found if getattr(spec, name) is not None), None)
        resolved[name] = Resolved(level[1], level[0]) if level else Resolved(DEFAULTS[name], BUILT_IN)
    return resolved


def column_thresholds(monitor: MonitorSpec, column: str, *, prediction: bool = False) -> ColumnThresholds:
    """:func:`resolve`, typed for :func:`~hydraops.monitoring.drift.column_drift`."""
    resolved = resolve(monitor, column, prediction=prediction)
    values = {name: r.value for name, r in resolved.items()}
    values["numeric_method"], values["categorical_method"] = Method(values["numeric_method"]), Method(values["categorical_method"])
    quality = {name: float(values.pop(name)) for name in QUALITY}
    null_share = quality.pop("max_null_fraction")
    return ColumnThresholds(column, DriftThresholds(**values), null_share, {name: r.source for name, r in resolved.items()}, **quality)


def threshold_findings(monitor: MonitorSpec) -> Iterator[tuple[str, str]]:
    """Each declared threshold is in its range: p-values and shares in (0, 1), distances above 0."""
    declared = [("monitor.default", monitor.default), ("monitor.prediction", monitor.prediction)]
    declared += [(f"monitor.groups.{name}.thresholds", group.thresholds) for name, group in monitor.groups.items()]
    declared += [(f"monitor.columns.{name}", level) for name, level in monitor.columns.items()]
    for key, level in declared:
        for name in ("ks_pvalue", "chi2_pvalue", "max_null_fraction"):
            value = getattr(level, name)
            if value is not None and not 0 < value < 1:
                yield f"{key}.{name}", f"{value}: expected a share between 0 and 1"
        for name in ("max_out_of_range", "max_unseen"):
            value = getattr(level, name)
            if value is not None and not 0 <= value < 1:
                yield f"{key}.{name}", f"{value}: expected a share of at least 0, below 1 (0: any such value breaches)"
        for name in ("wasserstein", "jensenshannon", "psi"):
            value = getattr(level, name)
            if value is not None and not value > 0:
                yield f"{key}.{name}", f"{value}: expected a distance above 0"
        if level.small_sample is not None and level.small_sample < 1:
            yield f"{key}.small_sample", f"{level.small_sample}: expected a count of at least 1"
    if not 0 < monitor.drift_share <= 1:
        yield "monitor.drift_share", f"{monitor.drift_share}: expected a share above 0, at most 1"
    yield from _performance_findings(monitor)


def _performance_findings(monitor: MonitorSpec) -> Iterator[tuple[str, str]]:
    from hydraops.config.durations import parse_duration

    performance = monitor.performance
    for name in ("chunk", "max_age"):
        value = getattr(performance, name)
        try:
            if value is not None and parse_duration(value).total_seconds() <= 0:
                yield f"monitor.performance.{name}", f"{value}: expected a duration above 0"
        except ValueError as error:
            yield f"monitor.performance.{name}", str(error)
    if performance.min_rows < 1:
        yield "monitor.performance.min_rows", f"{performance.min_rows}: expected a count of at least 1"
    if performance.max_drop < 0:
        yield "monitor.performance.max_drop", f"{performance.max_drop}: expected a metric difference of at least 0"


__all__ = ["BUILT_IN", "QUALITY", "ColumnThresholds", "Resolved", "column_thresholds", "levels", "resolve", "threshold_findings"]
