"""Data quality of the current data, from its sketches (counts only) and the features' declared checks.

Each check is a :class:`~hydraops.monitoring.check.Violation` when it breaches:

- ``null_share``: a column's null share exceeds the reference's by more than ``max_null_fraction``;
- ``out_of_range``: more than ``max_out_of_range`` of its values break the checks the feature declares
  (``ge``, ``le``, ``isin``: the declared contract, not the reference's range);
- ``unseen_category``: more than ``max_unseen`` of a text (or boolean) column's values are categories the
  reference never had (known only when the reference kept all of its categories);
- ``type_change``: numbers in the reference, text now (the column is not compared further);
- ``missing_column``: a profiled feature the current data lacks;
- ``extra_column``: a column that is no feature, entity key, label column or prediction log column: a
  warning, a breach with ``monitor.extra_columns: breach``.

Thresholds resolve per column like the drift ones (:mod:`hydraops.monitoring.thresholds`), and each violation
names the level that set its threshold.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hydraops.config.schemas import DataSpec, ExtraColumns, FeaturesSpec, MonitorSpec
from hydraops.monitoring.check import Violation
from hydraops.monitoring.thresholds import column_thresholds

if TYPE_CHECKING:
    import pandas as pd

    from hydraops.monitoring.profile import Profile
    from hydraops.monitoring.sketch import Sketch

#: The check names of the quality violations (retrain's ``quality`` breach kind).
CHECKS = ("null_share", "out_of_range", "unseen_category", "type_change", "missing_column", "extra_column")
#: The prediction log's own columns (hydraops.serving.prediction_log), never extra.
LOG_COLUMNS = frozenset({"request_id", "row", "time", "model_name", "model_version", "prediction", "explanation",
                         "shadow_model_version", "shadow_prediction", "shadow_error"})  # fmt: skip
LOG_PREFIXES = ("feature.", "status.", "key.")


@dataclass(frozen=True)
class DeclaredChecks:
    """The value checks a feature declares: bounds (inclusive) and allowed values (as category keys)."""

    ge: float | None = None
    le: float | None = None
    isin: frozenset[str] | None = None

    def __str__(self) -> str:
        parts = [f"ge {self.ge:g}" if self.ge is not None else "", f"le {self.le:g}" if self.le is not None else ""]
        parts.append(f"isin [{', '.join(sorted(self.isin))}]" if self.isin is not None else "")
        return ", ".join(part for part in parts if part)

    def count_outside(self, values: pd.Series) -> int:
        """How many non-null ``values`` break a check, each counted once (numbers against the bounds and
        ``isin``, other values against ``isin``)."""
        import numpy as np

        from hydraops.monitoring.profile import category_counts, is_numeric

        if not is_numeric(values):
            if self.isin is None:
                return 0
            keys, counts = category_counts(values)
            return sum(count for key, count in zip(keys, counts, strict=True) if key not in self.isin)
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
        numbers = numbers[~np.isnan(numbers)]
        outside = np.zeros(len(numbers), dtype=bool)
        if self.ge is not None:
            outside |= numbers < self.ge
        if self.le is not None:
            outside |= numbers > self.le
        if self.isin is not None:
            outside |= ~np.isin(numbers, _numbers(self.isin))
        return int(outside.sum())


def _numbers(keys: frozenset[str]) -> list[float]:
    """The allowed values that are numbers (category keys ``3``, ``2.5``)."""
    found = []
    for key in keys:
        try:
            found.append(float(key))
        except ValueError:
            continue
    return found


def declared_checks(features: FeaturesSpec, data: DataSpec) -> dict[str, DeclaredChecks]:
    """Feature name → its declared checks: a view's row-level features, and the request-time features of the
    labels (their labels source's column declarations). Features declaring none are left out."""
    from hydraops.monitoring.profile import category_key

    declared = {name: spec for view in features.views.values() for name, spec in view.features.items()}
    if features.labels is not None and features.labels.source in data.sources:
        columns = data.sources[features.labels.source].columns
        declared |= {name: columns[name] for name in features.labels.features if name in columns}
    checks = {}
    for name, spec in declared.items():
        if spec.ge is None and spec.le is None and spec.isin is None:
            continue
        isin = None if spec.isin is None else frozenset(category_key(value) for value in spec.isin)
        checks[name] = DeclaredChecks(None if spec.ge is None else float(spec.ge), None if spec.le is None else float(spec.le), isin)
    return checks


def known_columns(features: FeaturesSpec | None) -> frozenset[str]:
    """Columns current data may carry besides the profiled ones: entity keys, the labels' timestamp and target,
    the prediction log's own columns."""
    known = set(LOG_COLUMNS)
    if features is not None:
        known |= {key for entity in features.entities.values() for key in entity.join_keys}
        if features.labels is not None:
            known |= {features.labels.timestamp, features.labels.target}
    return frozenset(known)


def extra_columns(present: Iterable[str], profile: Profile, known: Collection[str]) -> list[str]:
    """The columns of ``present`` that are no profiled column, no ``known`` one, and no log column of either
    (``feature.<f>``, ``status.<f>``, ``key.<k>``)."""
    expected = {*profile.features, *profile.predictions, *known}
    extra = []
    for name in present:
        prefix = next((p for p in LOG_PREFIXES if name.startswith(p)), None)
        if name not in expected and (prefix is None or name[len(prefix) :] not in expected):
            extra.append(name)
    return extra


def quality_violations(sketches: Mapping[str, Sketch], monitor: MonitorSpec, *, predictions: Collection[str] = ()) -> list[Violation]:
    """``null_share``, ``out_of_range``, ``unseen_category`` and ``type_change`` of every sketched column (those
    in ``predictions`` judged against ``monitor.prediction``)."""
    violations = []
    for name, sketch in sketches.items():
        violations += column_quality(sketch, monitor, prediction=name in predictions)
    return violations


def column_quality(sketch: Sketch, monitor: MonitorSpec, *, prediction: bool = False) -> list[Violation]:
    """The quality violations of one column's sketch."""
    reference, name = sketch.reference, sketch.reference.name
    if sketch.type_change is not None:
        return [Violation("type_change", name, f"{reference.dtype} -> {sketch.type_change}", None, None, None)]
    limits = column_thresholds(monitor, name, prediction=prediction)
    found = []
    rows = sketch.n + sketch.nulls
    if rows:
        increase = sketch.nulls / rows - reference.null_share
        if increase > limits.max_null_fraction:
            found.append(Violation("null_share", name, "increase", increase, limits.max_null_fraction, limits.sources["max_null_fraction"]))
    if sketch.n and sketch.declared is not None:
        share = sketch.outside / sketch.n
        if share > limits.max_out_of_range:
            found.append(Violation("out_of_range", name, str(sketch.declared), share, limits.max_out_of_range, limits.sources["max_out_of_range"]))
    if sketch.n and knows_all_categories(sketch):
        share = sketch.unseen / sketch.n
        if share > limits.max_unseen:
            found.append(Violation("unseen_category", name, "share", share, limits.max_unseen, limits.sources["max_unseen"]))
    return found


def knows_all_categories(sketch: Sketch) -> bool:
    """A text or boolean reference column that kept every category it had: a new value is an unseen category."""
    reference = sketch.reference
    return not reference.numeric and reference.min is None and reference.other == 0


def column_violations(missing: Iterable[str], extra: Iterable[str], monitor: MonitorSpec) -> tuple[list[Violation], list[Violation]]:
    """``(breaches, warnings)``: each missing column a breach, each extra one a warning (a breach with
    ``monitor.extra_columns: breach``)."""
    breaches = [Violation("missing_column", name, None, None, None, None) for name in missing]
    extras = [Violation("extra_column", name, None, None, None, "monitor.extra_columns") for name in extra]
    if monitor.extra_columns == ExtraColumns.breach:
        return breaches + extras, []
    return breaches, extras


__all__ = [
    "CHECKS", "LOG_COLUMNS", "DeclaredChecks", "column_quality", "column_violations", "declared_checks", "extra_columns", "known_columns",
    "knows_all_categories", "quality_violations",
]  # fmt: skip
