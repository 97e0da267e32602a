"""Reference profiles: a bounded summary of the data a model was trained on, computed once at train time.

Per column: its kind (numeric or categorical), dtype, non-null count and null count (missing and non-finite
values), and

- numeric: min, max, mean, std and bins (:func:`bin_edges`: ``bins`` quantile bins of equal reference mass,
  finer ones in the tails, equal-width ones across the middle) with the count of values in each,
  ``[e_i, e_i+1)``, the last closed;
- categorical (strings, booleans, categoricals, and numbers with at most ``DISCRETE_MAX_UNIQUE`` distinct
  values): the ``max_categories`` most frequent values as string keys with their counts, the rest as ``other``.

Its size depends on the column count, never on the row count. :class:`Profile` adds the profile of the
model's predictions on the validation split and the test metrics, and is stored as JSON with a format number.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

FORMAT = 1
ARTIFACT = "reference_profile.json"
PREDICTION = "prediction"  # the predictions' column, as batch scoring names it
NUMERIC, CATEGORICAL = "numeric", "categorical"
DEFAULT_BINS = 100
MAX_CATEGORIES = 20
DISCRETE_MAX_UNIQUE = 5  # Evidently's rule: a numeric column with this few distinct values is compared as categories


@dataclass(frozen=True)
class ColumnProfile:
    """One column of the reference: see the module docstring for what each kind holds."""

    name: str
    kind: str  # NUMERIC | CATEGORICAL
    dtype: str
    count: int  # non-null values
    nulls: int  # missing or non-finite values
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    std: float | None = None
    edges: tuple[float, ...] = ()  # numeric: len(counts) + 1 increasing bin edges, edges[0] = min, edges[-1] = max
    counts: tuple[int, ...] = ()  # numeric: values per bin; categorical: values per category, most frequent first
    categories: tuple[str, ...] = ()  # categorical: the keys (category_key) of counts
    other: int = 0  # categorical: values of the categories beyond the kept ones

    @property
    def null_share(self) -> float:
        rows = self.count + self.nulls
        return self.nulls / rows if rows else 0.0

    @property
    def numeric(self) -> bool:
        return self.kind == NUMERIC


@dataclass(frozen=True)
class Profile:
    """The reference of a model version: its training features, its validation predictions, its test metrics."""

    rows: int
    features: dict[str, ColumnProfile]
    predictions: dict[str, ColumnProfile] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)  # test split, without the "test." prefix
    format: int = FORMAT

    def column(self, name: str) -> ColumnProfile:
        found = self.features.get(name) or self.predictions.get(name)
        if found is None:
            from hydraops.errors import MonitoringError

            known = ", ".join([*self.features, *self.predictions])
            raise MonitoringError(f"the reference profile has no column '{name}'; it has: {known}", column=name)
        return found

    def to_json(self) -> str:
        body = {
            "format": self.format, "rows": self.rows, "metrics": self.metrics,
            "features": [_column_json(c) for c in self.features.values()],
            "predictions": [_column_json(c) for c in self.predictions.values()],
        }  # fmt: skip
        return json.dumps(body, indent=1, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> Profile:
        from hydraops.errors import MonitoringError

        body = json.loads(text)
        if body.get("format") != FORMAT:
            raise MonitoringError(
                f"reference profile format {body.get('format')!r}: this hydraops reads format {FORMAT}; retrain the model to profile it again"
            )

        def columns(items: list[dict]) -> dict[str, ColumnProfile]:
            parsed = [ColumnProfile(**{k: tuple(v) if isinstance(v, list) else v for k, v in item.items()}) for item in items]
            return {c.name: c for c in parsed}

        return cls(body["rows"], columns(body["features"]), columns(body["predictions"]), dict(body["metrics"]), FORMAT)


def build_profile(features: pd.DataFrame, predictions: pd.DataFrame | None = None, metrics: Mapping[str, float] | None = None,
                  *, bins: int = DEFAULT_BINS, max_categories: int = MAX_CATEGORIES) -> Profile:  # fmt: skip
    """The profile of ``features`` (every column), ``predictions`` (every column) and ``metrics``."""
    options = {"bins": bins, "max_categories": max_categories}
    predicted = {} if predictions is None else {n: profile_column(predictions[n], **options) for n in predictions.columns}
    return Profile(
        len(features), {str(n): profile_column(features[n], **options) for n in features.columns}, predicted,
        {k: float(v) for k, v in (metrics or {}).items()},
    )  # fmt: skip


def profile_column(series: pd.Series, *, bins: int = DEFAULT_BINS, max_categories: int = MAX_CATEGORIES) -> ColumnProfile:
    """The profile of one column (see the module docstring)."""
    import numpy as np
    import pandas as pd

    name, dtype = str(series.name), str(series.dtype)
    if is_numeric(series):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        finite = values[np.isfinite(values)]
        nulls = len(values) - len(finite)
        if len(pd.unique(finite)) > DISCRETE_MAX_UNIQUE:
            edges = bin_edges(finite, bins)
            _, counts, _ = bin_counts(edges, finite)
            stats = {"min": float(edges[0]), "max": float(edges[-1]), "mean": float(finite.mean()), "std": float(finite.std())}
            return ColumnProfile(name, NUMERIC, dtype, len(finite), nulls, **stats, edges=tuple(map(float, edges)), counts=tuple(map(int, counts)))
        keys, counts = category_counts(pd.Series(finite))
        stats = {"min": float(finite.min()), "max": float(finite.max())} if len(finite) else {}
    else:
        keys, counts = category_counts(series)
        nulls, stats = int(series.isna().sum()), {}
    order = sorted(range(len(keys)), key=lambda i: (-counts[i], keys[i]))
    kept, rest = order[:max_categories], order[max_categories:]
    return ColumnProfile(name, CATEGORICAL, dtype, int(sum(counts)), nulls, **stats, counts=tuple(int(counts[i]) for i in kept),
                         categories=tuple(keys[i] for i in kept), other=int(sum(counts[i] for i in rest)))  # fmt: skip


def bin_edges(values: np.ndarray, bins: int) -> np.ndarray:
    """Edges at ``bins`` equal-mass quantiles (data values, so integer data keeps exact bins), at finer ones in
    each tail (1e-4 .. 5e-3 of the mass: a heavy tail's one wide bin would carry the whole tail's spread), and
    ``bins // 2`` equal-width ones between the 0.5 % and 99.5 % quantiles (no bin in a sparse middle, between
    two modes, is wider than 2 % of that range)."""
    import numpy as np

    tail = np.array([1e-4, 5e-4, 1e-3, 2e-3, 5e-3])
    levels = np.unique(np.concatenate([np.linspace(0.0, 1.0, bins + 1), tail, 1.0 - tail]))
    quantiles = np.quantile(values, levels, method="inverted_cdf")
    low, high = np.quantile(values, [0.005, 0.995], method="inverted_cdf")
    return np.unique(np.concatenate([quantiles, np.linspace(low, high, bins // 2 + 1)]))


def is_numeric(series: pd.Series) -> bool:
    """Numbers, not booleans: what is profiled and compared as a distribution."""
    import pandas as pd

    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def bin_counts(edges: np.ndarray, values: np.ndarray) -> tuple[int, np.ndarray, int]:
    """(values below edges[0], values per bin [e_i, e_i+1) with the last bin closed, values above edges[-1]); NaN in none.

    The values are sorted and the edges looked up in them: numpy's sort is SIMD and the edges are few, where
    looking each value up among the edges costs a branchy binary search per value (8x slower on 1e5 values).
    """
    import numpy as np

    ordered = np.sort(values)
    positions = np.searchsorted(ordered, edges, side="left")  # values < each edge
    positions[-1] = np.searchsorted(ordered, edges[-1], side="right")  # the last bin is closed
    valid = int(np.searchsorted(ordered, np.inf, side="right"))  # NaN sorts last
    return int(positions[0]), np.diff(positions), valid - int(positions[-1])


def category_counts(series: pd.Series) -> tuple[list[str], list[int]]:
    """Non-null values counted by :func:`category_key` (``1`` and ``1.0`` are one category)."""
    merged: dict[str, int] = {}
    for value, count in series.value_counts(dropna=True).items():
        if not count:  # a categorical dtype lists its unused categories too
            continue
        key = category_key(value)
        merged[key] = merged.get(key, 0) + int(count)
    return list(merged), list(merged.values())


def category_key(value: Any) -> str:
    """The string a category is stored under: ``True``, ``3`` (also for 3.0), ``2.5``, or the value as text."""
    import numpy as np

    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    return str(value)


def profile_for_version(client, name: str, version: str | int) -> Profile:
    """The reference profile logged by the training run of ``name`` version ``version``."""
    import tempfile
    from pathlib import Path

    from hydraops.errors import MonitoringError
    from hydraops.tracking.readers import run_of_version

    run_id = run_of_version(client, name, version)
    with tempfile.TemporaryDirectory(prefix="hydraops-profile-") as scratch:
        try:
            path = client.download_artifacts(run_id, ARTIFACT, scratch)
        except Exception as error:  # noqa: BLE001 - MLflow's message, named as what is missing
            raise MonitoringError(f"model {name} version {version}: its run {run_id} has no {ARTIFACT} artifact "
                                  f"({str(error).splitlines()[0]})", hint="train the model again with this hydraops to profile it") from None  # fmt: skip
        return Profile.from_json(Path(path).read_text())


def _column_json(column: ColumnProfile) -> dict[str, Any]:
    return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(column).items()}


__all__ = [
    "ARTIFACT", "CATEGORICAL", "FORMAT", "NUMERIC", "PREDICTION", "ColumnProfile", "Profile", "bin_counts", "build_profile", "category_key",
    "profile_column", "profile_for_version",
]  # fmt: skip
