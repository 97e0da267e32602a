"""The class mix of a classifier's predictions: the share of rows predicted positive, ``prediction >= threshold``
(``evaluate.threshold``, the one the test metrics' labels were cut at; 0.5 unless declared), as a two-category
column ``prediction_class`` (``0``/``1``) judged like any categorical column (Jensen-Shannon distance, or
chi-square on a small sample, at ``monitor.prediction``'s thresholds).

The reference's mix comes from the profile of the validation predictions: the mass of the bins above the
threshold, the bin holding it split in proportion to where it falls (off by at most that bin's share, under
1 % of the rows); for a categorical profile (few distinct scores), the categories at or above it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hydraops.monitoring.profile import CATEGORICAL, ColumnProfile

if TYPE_CHECKING:
    import pandas as pd

CLASS = "prediction_class"


def class_reference(prediction: ColumnProfile, threshold: float) -> ColumnProfile | None:
    """The reference's class mix as a categorical profile (None: the scores are not numbers)."""
    import numpy as np

    if prediction.numeric:
        edges, counts = np.asarray(prediction.edges), np.asarray(prediction.counts, dtype=float)
        above = np.clip((edges[1:] - threshold) / np.maximum(edges[1:] - edges[:-1], 1e-300), 0.0, 1.0)
        above[edges[:-1] >= threshold] = 1.0
        positive = float(np.sum(counts * above))
    else:
        try:
            scores = [float(key) for key in prediction.categories]
        except ValueError:
            return None
        if prediction.other:
            return None
        positive = float(sum(count for score, count in zip(scores, prediction.counts, strict=True) if score >= threshold))
    positive = round(positive)
    return ColumnProfile(CLASS, CATEGORICAL, "int64", prediction.count, prediction.nulls, counts=(prediction.count - positive, positive), categories=("0", "1"))


def predicted_class(scores: pd.Series, threshold: float) -> pd.Series:
    """1 where ``scores >= threshold``, 0 below it, null where there is no score."""
    import pandas as pd

    numbers = pd.to_numeric(scores, errors="coerce")
    return (numbers >= threshold).astype("Int64").mask(numbers.isna())


__all__ = ["CLASS", "class_reference", "predicted_class"]
