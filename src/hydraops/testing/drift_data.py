"""Seeded columns of known distributions, for drift calibration (tests/monitoring, benchmarks/monitor.py).

frame = sample(COLUMNS, 10_000, np.random.default_rng(0))                      # no drift
frame = sample(COLUMNS, 10_000, rng, shift={"normal": 0.5})                    # +0.5 std on one column
for chunk in chunks(COLUMNS, 10_000_000, rng, chunk_rows=1_000_000): ...      # streamed, bounded memory
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

_PLANS = np.array(["basic", "standard", "plus", "premium", "family", "student", "senior", "business", "trial", "legacy"])
_PLAN_P = np.arange(10, 0, -1) / 55
_MANY = np.array([f"c{i:03d}" for i in range(120)])  # more categories than a profile keeps: the rest is "other"
_MANY_P = 1 / np.arange(1, 121) / (1 / np.arange(1, 121)).sum()

#: name -> (draw(rng, n), population std of a numeric column or None for a categorical one)
DISTRIBUTIONS: dict[str, tuple[Callable[[np.random.Generator, int], np.ndarray], float | None]] = {
    "normal": (lambda rng, n: rng.normal(50.0, 10.0, n), 10.0),
    "uniform": (lambda rng, n: rng.uniform(0.0, 1.0, n), (1 / 12) ** 0.5),
    "exponential": (lambda rng, n: rng.exponential(3.0, n), 3.0),
    "lognormal": (lambda rng, n: rng.lognormal(0.0, 1.0, n), float(((np.e - 1) * np.e) ** 0.5)),
    "student_t": (lambda rng, n: rng.standard_t(5, n), (5 / 3) ** 0.5),
    "bimodal": (lambda rng, n: np.where(rng.random(n) < 0.3, rng.normal(-2, 0.5, n), rng.normal(3, 1, n)), float((0.3 * 0.25 + 0.7 + 0.21 * 25) ** 0.5)),
    "counts": (lambda rng, n: rng.poisson(8.0, n).astype(float), 8.0**0.5),
    "plan": (lambda rng, n: _PLANS[rng.choice(10, n, p=_PLAN_P)], None),
    "region": (lambda rng, n: np.array(["north", "south", "east", "west"])[rng.integers(0, 4, n)], None),
    "flag": (lambda rng, n: rng.random(n) < 0.3, None),
    "many": (lambda rng, n: _MANY[rng.choice(120, n, p=_MANY_P)], None),
}
COLUMNS = tuple(DISTRIBUTIONS)
NUMERIC = tuple(name for name, (_, std) in DISTRIBUTIONS.items() if std is not None)


def sample(columns: Sequence[str], n: int, rng: np.random.Generator, *, shift: Mapping[str, float] | None = None) -> pd.DataFrame:
    """``n`` rows of each column; ``shift`` adds that many population stds to a numeric column's values."""
    shift = shift or {}
    data = {}
    for name in columns:
        draw, std = DISTRIBUTIONS[name]
        values = draw(rng, n)
        if name in shift:
            values = values + shift[name] * std
        data[name] = values
    return pd.DataFrame(data)


def chunks(columns: Sequence[str], n: int, rng: np.random.Generator, *, chunk_rows: int = 1_000_000,
           shift: Mapping[str, float] | None = None) -> Iterator[pd.DataFrame]:  # fmt: skip
    """:func:`sample` of ``n`` rows, ``chunk_rows`` at a time."""
    for start in range(0, n, chunk_rows):
        yield sample(columns, min(chunk_rows, n - start), rng, shift=shift)


__all__ = ["COLUMNS", "DISTRIBUTIONS", "NUMERIC", "chunks", "sample"]
