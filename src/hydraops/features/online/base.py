"""The online store contract, and the encoding both backends share.

A stored row is the JSON ``[feature_ts, values]`` or ``[feature_ts, values, [names of datetime values]]``,
every instant as whole microseconds since the Unix epoch, so timestamps come back exactly, as UTC
(``feature_ts`` null: a static view's row, valid at every instant).
A key is the JSON list of its join-key values: ``(42, "eu")`` → ``[42,"eu"]``.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any, Self, TypeVar

from hydraops.errors import FeatureStoreError

__all__ = [
    "FeatureStoreError",
    "OnlineRow",
    "OnlineStore",
    "Pushed",
    "decode_key",
    "decode_row",
    "encode_key",
    "encode_row",
    "from_micros",
    "to_micros",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_dumps = json.JSONEncoder(separators=(",", ":")).encode  # built once: json.dumps(..., separators=) rebuilds it
_T = TypeVar("_T")


@dataclass(frozen=True)
class OnlineRow:
    """The latest value of one entity in one view: its join-key values, feature timestamp and features."""

    key: tuple
    feature_ts: datetime | None  # None: a static view's row (its source has no timestamp), valid at every instant
    values: dict[str, Any]


@dataclass(frozen=True)
class Pushed:
    """What a view's online rows were computed from: the offline version folder and the instant."""

    version: str | None  # None: the writer did not say (or an older hydraops wrote the rows)
    as_of: datetime


class OnlineStore(ABC):
    """Latest feature values per (view, entity key), and what each view's values were computed from.

    A view's rows are replaced as a whole: readers see the rows of one write or of the next, never a mix.
    """

    @abstractmethod
    def write(self, view: str, rows: Iterable[OnlineRow], *, as_of: datetime, version: str | None = None) -> int:
        """Replace the view's rows with ``rows`` (a key absent from them is removed; within a call the last
        row of a key wins) and record ``as_of`` and ``version`` for the view, in one atomic step: a reader
        sees the old rows and record or the new ones, and a write that fails leaves the old ones. Returns
        the number of rows given."""

    @abstractmethod
    def read(self, view: str, keys: Sequence[tuple]) -> list[OnlineRow | None]:
        """The stored row of each key, in the order of ``keys``, None where absent; one round trip."""

    @abstractmethod
    def pushed(self, view: str) -> Pushed | None:
        """What the view's rows were last written from; None if it never was."""

    def as_of(self, view: str) -> datetime | None:
        """The instant ``view`` was last materialized for; None if it never was."""
        pushed = self.pushed(view)
        return None if pushed is None else pushed.as_of

    @abstractmethod
    def keys(self, view: str, limit: int) -> list[tuple]:
        """Up to ``limit`` stored keys of ``view``, ordered by their encoding (a deterministic sample)."""

    @abstractmethod
    def close(self) -> None:
        """Release connections; the store cannot be used afterwards."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def to_micros(instant: datetime) -> int:
    """Whole microseconds since the epoch; a naive datetime is an error, never a silent shift."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise FeatureStoreError(f"naive timestamp {instant!r}: online store timestamps must be timezone-aware")
    return (instant - _EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    return _EPOCH + _MICROSECOND * micros


def encode_key(key: Sequence[Any]) -> str:
    """Join-key values (int or str; numpy integers accepted) → their JSON list."""
    return _dumps([part if type(part) is int or type(part) is str else _key_part(part) for part in key])


def decode_key(text: str | bytes) -> tuple:
    return tuple(json.loads(text))


def encode_row(row: OnlineRow) -> str:
    """``[feature_ts, values(, datetime names)]`` as JSON; values become plain Python scalars, NaN None."""
    values: dict[str, Any] = {}
    stamps: list[str] = []
    for name, value in row.values.items():
        value = _scalar(value)
        if isinstance(value, datetime):
            stamps.append(name)
            value = to_micros(value)
        values[name] = value
    feature_ts = None if row.feature_ts is None else to_micros(row.feature_ts)
    document = [feature_ts, values, stamps] if stamps else [feature_ts, values]
    return _dumps(document)


def decode_row(key: tuple, data: str | bytes) -> OnlineRow:
    document = json.loads(data)
    values = document[1]
    if len(document) > 2:
        for name in document[2]:
            values[name] = from_micros(values[name])
    return OnlineRow(key, None if document[0] is None else from_micros(document[0]), values)


def chunks(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    """Consecutive lists of at most ``size`` items."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _key_part(part: Any) -> int | str:
    if isinstance(part, str) or (isinstance(part, int) and not isinstance(part, bool)):
        return part
    if type(part).__module__ == "numpy" and type(part).__name__.startswith(("int", "uint")):
        return part.item()
    raise FeatureStoreError(f"join-key value {part!r} ({type(part).__name__}): expected an int or a str")


def _scalar(value: Any) -> Any:
    """A feature value as a plain Python scalar: None, bool, int, float, str or an aware datetime.

    numpy and pandas scalars become their Python equivalents, decimals floats; NaN, NaT and NA become None.
    """
    if value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        return None if value != value else float(value)  # NaN → None; numpy float64 → float
    if isinstance(value, datetime):
        return None if value != value else value  # pandas NaT → None
    module = type(value).__module__
    if module == "decimal":  # DuckDB DECIMAL columns
        return _scalar(float(value))
    if module == "numpy":
        import numpy as np

        if isinstance(value, np.datetime64):
            if np.isnat(value):
                return None
            raise FeatureStoreError(f"naive timestamp {value!r}: online store timestamps must be timezone-aware")
        return _scalar(value.item())
    if module.startswith("pandas"):
        import pandas as pd

        if value is pd.NA:
            return None
    raise FeatureStoreError(
        f"feature value {value!r} ({type(value).__name__}) cannot be stored online: expected None, bool, int, float, str or a timezone-aware datetime"
    )
