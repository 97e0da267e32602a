"""Cut a training table into train/valid/test, by event time or at random (``split`` config group).

``split_table`` is a pure function of the frame and the :class:`SplitSpec`: the same input gives the same
three parts, each keeping the input's row order and index.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hydraops.config.durations import parse_duration
from hydraops.config.schemas import SplitMethod, SplitSpec, Task
from hydraops.errors import TrainingError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["Splits", "TrainingError", "split_table"]

_FIX = "change split.valid_fraction, split.test_fraction or split.gap"


@dataclass(frozen=True)
class Splits:
    """The three parts of a training table; ``valid`` may be empty (``split.valid_fraction: 0``)."""

    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame

    def sizes(self) -> dict[str, int]:
        """Rows per part: ``{"train": …, "valid": …, "test": …}``."""
        return {"train": len(self.train), "valid": len(self.valid), "test": len(self.test)}


def split_table(frame: pd.DataFrame, spec: SplitSpec, *, time_column: str | None, target: str, task: Task) -> Splits:
    """Cut ``frame`` as ``spec`` says; ``time_column`` is the labels' timestamp (used when ``split.column`` is unset).

    ``method: time`` — train < valid < test in time; ties never straddle a cut; rows less than or exactly
    ``split.gap`` before the valid (test) start are dropped from the earlier parts, so every kept row of an
    earlier part is more than ``gap`` before the later part. A part left empty is an error (valid only when
    ``split.valid_fraction`` asks for one).
    ``method: random`` — shuffled with ``split.seed``, stratified by ``target`` for classification when
    ``split.stratify``. Raises :class:`TrainingError` naming the config key when the split cannot be made.
    """
    if target not in frame.columns:
        raise TrainingError(
            f"features.labels.target: column '{target}' is not in the training table (columns: {_names(frame)})",
            key="features.labels.target",
            column=target,
        )
    _check_fractions(spec)
    if SplitMethod(spec.method) is SplitMethod.time:
        masks = _time_masks(frame, spec, time_column)
    else:
        masks = _random_masks(frame, spec, target, task)
    splits = Splits(*(frame[mask] for mask in masks))
    _check_parts(splits, spec, target, task)
    return splits


def _check_fractions(spec: SplitSpec) -> None:
    for key in ("valid_fraction", "test_fraction"):
        value = getattr(spec, key)
        if not 0 <= value < 1:
            raise TrainingError(f"split.{key}: expected a fraction in [0, 1), found {value}")
    if spec.valid_fraction + spec.test_fraction >= 1:
        raise TrainingError(
            f"split.valid_fraction + split.test_fraction must be below 1 so train keeps rows, found {spec.valid_fraction} + {spec.test_fraction}"
        )


def _time_masks(frame: pd.DataFrame, spec: SplitSpec, time_column: str | None) -> tuple[np.ndarray, ...]:
    """Boolean masks (train, valid, test): cuts at distinct instants nearest the requested fractions."""
    import numpy as np
    import pandas as pd

    column = spec.column or time_column
    key = "split.column" if spec.column else "features.labels.timestamp"
    if not column:
        raise TrainingError("split.column: method=time needs a timestamp column; set split.column or features.labels.timestamp")
    if column not in frame.columns:
        raise TrainingError(f"{key}: time column '{column}' is not in the training table (columns: {_names(frame)})", key=key, column=column)
    times = frame[column]
    if not pd.api.types.is_datetime64_any_dtype(times):
        raise TrainingError(f"{key}: time column '{column}' must hold timestamps, found dtype {times.dtype}", key=key, column=column)
    if isinstance(times.dtype, pd.DatetimeTZDtype):
        times = times.dt.tz_convert("UTC").dt.tz_localize(None)
    if times.isna().any():
        raise TrainingError(f"{key}: time column '{column}' has {int(times.isna().sum())} rows without a time", key=key, column=column)
    try:
        gap = pd.Timedelta(parse_duration(spec.gap))
    except ValueError as error:
        raise TrainingError(f"split.gap: {error}") from None

    values = times.to_numpy()
    instants, codes = np.unique(values, return_inverse=True)
    cut_valid, cut_test = _cuts(np.bincount(codes, minlength=len(instants)), spec)
    train, valid, test = codes < cut_valid, (codes >= cut_valid) & (codes < cut_test), codes >= cut_test
    if cut_valid < len(instants):  # nothing of train within `gap` of the first later row
        train &= values < instants[cut_valid] - gap.to_numpy()
    if cut_test < len(instants):
        valid &= values < instants[cut_test] - gap.to_numpy()
    return train, valid, test


def _cuts(counts: np.ndarray, spec: SplitSpec) -> tuple[int, int]:
    """Indices of the first valid and first test instant, given the row count of each distinct instant:
    each cut is the boundary between instants nearest its requested share of rows (a part may come out
    empty; the caller says so)."""
    import numpy as np

    edges = np.concatenate([[0], np.cumsum(counts)])  # edges[j]: rows before instant j
    n = int(edges[-1])

    def nearest(share: float) -> int:  # rounding keeps float noise (1 - 0.2 - 0.2) from breaking ties
        return int(np.argmin(np.abs(edges - round(n * share, 6))))

    cut_valid = nearest(1 - spec.valid_fraction - spec.test_fraction)
    return cut_valid, max(cut_valid, nearest(1 - spec.test_fraction))


def _random_masks(frame: pd.DataFrame, spec: SplitSpec, target: str, task: Task) -> tuple[np.ndarray, ...]:
    """Boolean masks (train, valid, test) from a seeded, optionally stratified shuffle."""
    import numpy as np

    n = len(frame)
    labels = frame[target].to_numpy() if spec.stratify and Task(task) is Task.classification else None
    rest, test = _draw(np.arange(n), math.floor(spec.test_fraction * n + 0.5), labels, spec.seed, target)
    train, valid = _draw(rest, math.floor(spec.valid_fraction * n + 0.5), labels, spec.seed, target)
    masks = np.zeros((3, n), dtype=bool)
    for mask, rows in zip(masks, (train, valid, test)):
        mask[rows] = True
    return tuple(masks)


def _draw(rows: np.ndarray, size: int, labels: np.ndarray | None, seed: int, target: str) -> tuple[np.ndarray, ...]:
    """``rows`` split into (kept, drawn) with ``size`` drawn at random (stratified by ``labels`` if given)."""
    from sklearn.model_selection import train_test_split

    if size == 0 or size >= len(rows):
        return (rows, rows[:0]) if size == 0 else (rows[:0], rows)
    try:
        return tuple(train_test_split(rows, test_size=size, random_state=seed, stratify=None if labels is None else labels[rows]))
    except ValueError as error:
        raise TrainingError(f"split.stratify: cannot stratify {len(rows)} rows by '{target}' ({error}); set split.stratify=false or {_FIX}") from None


def _check_parts(splits: Splits, spec: SplitSpec, target: str, task: Task) -> None:
    sizes = splits.sizes()
    counts = ", ".join(f"{part}={rows}" for part, rows in sizes.items())
    required = ("train", "test", "valid") if spec.valid_fraction > 0 else ("train", "test")
    for part in required:
        if sizes[part] == 0:
            raise TrainingError(f"split (method={spec.method}): the {part} part got no rows ({counts}); {_FIX}")
    if Task(task) is not Task.classification:
        return
    for part, rows in sizes.items():
        classes = getattr(splits, part)[target].dropna().unique()
        if rows and len(classes) < 2:
            raise TrainingError(
                f"split (method={spec.method}): the {part} part has only class {classes.tolist()} of "
                f"features.labels.target '{target}' ({counts}); every part needs both classes; {_FIX}"
            )


def _names(frame: pd.DataFrame) -> str:
    return ", ".join(map(str, frame.columns))
