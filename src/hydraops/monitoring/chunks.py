"""Current data counted over the whole data and per time chunk (``monitor.chunk``, daily by default), batch by
batch: a :class:`Tally` holds a :class:`Scope` (row count, one Sketch per column, serving status counts) for the
whole data and one per chunk, so memory grows with the chunks and columns, never with the rows.

A row's chunk is its ``timestamp`` (``monitor.timestamp``; naive values are UTC) floored to a multiple of the
chunk's duration since 1970-01-01 UTC: ``1d`` chunks are UTC days labelled ``2026-11-23``, shorter or longer
ones are labelled by their start (``2026-11-23T06:00Z``; ``1w`` chunks start on Thursdays, as the epoch did).
Rows of one chunk may come in several batches. Rows without a timestamp count in the whole data only. More
than ``MAX_CHUNKS`` chunks is an error naming ``monitor.chunk`` (memory stays bounded).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from hydraops.errors import MonitoringError
from hydraops.monitoring.profile import ColumnProfile
from hydraops.monitoring.sketch import Sketch

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from hydraops.monitoring.quality import DeclaredChecks

STATUS = "status."
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_CHUNKS = 1000  # a Sketch per column per chunk: bounded


@dataclass
class Scope:
    """The counts of one scope: the whole data, or one time chunk."""

    rows: int = 0
    sketches: dict[str, Sketch] = field(default_factory=dict)
    statuses: dict[str, dict[str, int]] = field(default_factory=dict)  # feature -> serving status -> rows

    @classmethod
    def of(cls, references: Mapping[str, ColumnProfile], statuses: Sequence[str], declared: Mapping[str, DeclaredChecks]) -> Scope:
        sketches = {name: Sketch(reference, declared=declared.get(name)) for name, reference in references.items()}
        return cls(0, sketches, {name: {} for name in statuses})

    def add(self, frame: pd.DataFrame) -> None:
        self.rows += len(frame)
        for name, sketch in self.sketches.items():
            sketch.add(frame[name])
        for name, counts in self.statuses.items():
            for status, count in frame[STATUS + name].value_counts(dropna=True).items():
                counts[str(status)] = counts.get(str(status), 0) + int(count)


class Tally:
    """Every column's Sketch and every status count, over the whole data and per chunk of ``step`` (None or no
    ``timestamp``: the whole data only)."""

    def __init__(self, references: Mapping[str, ColumnProfile], *, timestamp: str | None, step: timedelta | None,
                 statuses: Sequence[str] = (), source: str = "", declared: Mapping[str, DeclaredChecks] | None = None) -> None:  # fmt: skip
        self.references, self.status_names, self.declared = dict(references), list(statuses), dict(declared or {})
        self.timestamp, self.step = (timestamp, step) if step else (None, None)
        self.source = source
        self.whole = Scope.of(self.references, self.status_names, self.declared)
        self.chunks: dict[int, Scope] = {}  # chunk index (start = EPOCH + index * step) -> its counts
        self.untimed = 0  # rows without a timestamp

    def add(self, frame: pd.DataFrame) -> None:
        self.whole.add(frame)
        if self.timestamp is None:
            return
        keys, timed = chunk_keys(frame[self.timestamp], self.step, source=self.source, column=self.timestamp)
        self.untimed += int((~timed).sum())
        for key, part in frame[timed].groupby(keys[timed], sort=False):
            scope = self.chunks.get(int(key))
            if scope is None:
                if len(self.chunks) == MAX_CHUNKS:
                    raise MonitoringError(f"{self.source}: more than {MAX_CHUNKS} time chunks of {self.step} by '{self.timestamp}' (monitor.chunk)",
                                          key="monitor.chunk", hint="set a longer monitor.chunk (e.g. 1w), or monitor.chunk=null for the whole data only")  # fmt: skip
                scope = self.chunks[int(key)] = Scope.of(self.references, self.status_names, self.declared)
            scope.add(part)

    def ordered(self) -> list[tuple[str, datetime, datetime, Scope]]:
        """``(label, start, end, counts)`` of each chunk with rows, in time order."""
        return [(chunk_label(key, self.step), *chunk_bounds(key, self.step), self.chunks[key]) for key in sorted(self.chunks)]


def chunk_keys(values: pd.Series, step: timedelta, *, source: str = "", column: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Each value's chunk index, and which values have a timestamp."""
    import numpy as np
    import pandas as pd

    try:
        times = pd.to_datetime(values, utc=True)
    except (ValueError, TypeError) as error:
        raise MonitoringError(f"{source}: column '{column}' (monitor.timestamp) is not a timestamp ({str(error).splitlines()[0]})",
                              key="monitor.timestamp", column=column) from None  # fmt: skip
    missing = times.isna().to_numpy()
    nanos = times.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").astype("int64")
    return np.floor_divide(nanos, _nanos(step)), ~missing


def chunk_bounds(key: int, step: timedelta) -> tuple[datetime, datetime]:
    start = EPOCH + key * step
    return start, start + step


def chunk_label(key: int, step: timedelta) -> str:
    start = EPOCH + key * step
    return start.date().isoformat() if step == timedelta(days=1) else start.strftime("%Y-%m-%dT%H:%MZ")


def _nanos(step: timedelta) -> int:
    return (step.days * 86_400 + step.seconds) * 1_000_000_000 + step.microseconds * 1000


__all__ = ["MAX_CHUNKS", "Scope", "Tally", "chunk_bounds", "chunk_keys", "chunk_label"]
