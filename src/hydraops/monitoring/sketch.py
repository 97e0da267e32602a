"""The current data of one column, summarised on its reference's bins or categories, chunk by chunk.

A :class:`Sketch` holds counts, never values, so a file of any size is compared in bounded memory:

- numeric reference: the values below its min and above its max (with the sums of their distances to the min
  and max, which is all the Wasserstein distance needs of them) and the values in each reference bin;
- categorical reference: the values of each reference category, the rest as ``other`` (of which ``unseen``
  are categories the reference never had, some of them kept as examples).

With the feature's declared checks (``declared``), it also counts the values breaking them (``outside``). A
numeric reference given text values records the current dtype in ``type_change`` and counts only their nulls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hydraops.monitoring.profile import ColumnProfile, bin_counts, category_counts, is_numeric

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from hydraops.monitoring.quality import DeclaredChecks

UNSEEN_EXAMPLES = 10


@dataclass
class Sketch:
    """Counts of current values on ``reference``'s bins (numeric) or categories; :meth:`add` chunks to it."""

    reference: ColumnProfile
    n: int = 0  # non-null values
    nulls: int = 0  # missing or non-finite values
    counts: np.ndarray | None = None  # per reference bin / category
    below: int = 0  # numeric: values < reference min, and sum(min - value) over them
    below_excess: float = 0.0
    above: int = 0  # numeric: values > reference max, and sum(value - max) over them
    above_excess: float = 0.0
    other: int = 0  # categorical: values of no kept reference category
    unseen: int = 0  # categorical: values of categories the reference never had (part of ``other``)
    unseen_examples: list[str] = field(default_factory=list)
    declared: DeclaredChecks | None = None  # the feature's declared checks (ge, le, isin)
    outside: int = 0  # values breaking ``declared``
    type_change: str | None = None  # the current dtype, when the reference is numeric and the current values text

    def __post_init__(self) -> None:
        import numpy as np

        if self.counts is None:
            self.counts = np.zeros(len(self.reference.counts), dtype=np.int64)

    @classmethod
    def of(cls, reference: ColumnProfile, *chunks: pd.Series, declared: DeclaredChecks | None = None) -> Sketch:
        sketch = cls(reference, declared=declared)
        for chunk in chunks:
            sketch.add(chunk)
        return sketch

    def add(self, chunk: pd.Series) -> Sketch:
        """Count one chunk of current values in."""
        if self.declared is not None:
            self.outside += self.declared.count_outside(chunk)
        if self.reference.numeric:
            self._add_numbers(chunk)
        else:
            self._add_categories(chunk)
        return self

    def _add_numbers(self, chunk: pd.Series) -> None:
        import numpy as np

        if not is_numeric(chunk):
            present = int(chunk.notna().sum())
            if present:  # text (or booleans) where the reference had numbers: not compared
                self.type_change = self.type_change or str(chunk.dtype)
            self.nulls += len(chunk) - present
            return
        values = chunk.to_numpy(dtype=float, na_value=np.nan)
        values = values[np.isfinite(values)]
        self.nulls += len(chunk) - len(values)
        self.n += len(values)
        edges = np.asarray(self.reference.edges)
        below, counts, above = bin_counts(edges, values)
        self.counts += counts
        if below:
            self.below += below
            self.below_excess += float((edges[0] - values[values < edges[0]]).sum())
        if above:
            self.above += above
            self.above_excess += float((values[values > edges[-1]] - edges[-1]).sum())

    def _add_categories(self, chunk: pd.Series) -> None:
        import pandas as pd

        reference = self.reference
        if is_numeric(chunk) and reference.min is None:  # a string reference: numbers here are other categories
            chunk = chunk.astype("object")
        if is_numeric(chunk):
            finite = pd.Series(chunk.to_numpy(dtype=float, na_value=float("nan")))
            finite = finite[~finite.isin([float("inf"), float("-inf")])]
            self.nulls += len(chunk) - int(finite.notna().sum())
            chunk = finite
        else:
            self.nulls += int(chunk.isna().sum())
        index = {key: i for i, key in enumerate(reference.categories)}
        keys, counts = category_counts(chunk)
        for key, count in zip(keys, counts, strict=True):
            self.n += count
            if key in index:
                self.counts[index[key]] += count
                continue
            self.other += count
            if reference.other == 0:  # the reference kept every category it had: this one is new
                self.unseen += count
                if len(self.unseen_examples) < UNSEEN_EXAMPLES and key not in self.unseen_examples:
                    self.unseen_examples.append(key)


__all__ = ["Sketch"]
