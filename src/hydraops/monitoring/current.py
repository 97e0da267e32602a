"""The current data monitoring judges, behind one interface: a parquet/CSV file, or the service's prediction log
over a time window (:class:`hydraops.monitoring.log_data.LogData`).

    current = FileData(Path("last_week.parquet"), timestamp="label_time")
    current.columns()                        # what it has
    for frame in current.chunks(["age", "label_time"], 100_000): ...   # pandas DataFrames, bounded memory
    current.timestamp                        # the column that orders its rows (None: not cut in time chunks)
    current.identity                         # what identifies it in breach ids: the file's sha256, or the window
    current.source                           # ... of a time chunk's breach: the file's sha256, or the log (any window)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from hydraops.errors import MonitoringError

if TYPE_CHECKING:
    import pandas as pd


class CurrentData(Protocol):
    """Rows to judge. ``name`` says what they are in messages; ``key`` is the config key or parameter that chose
    them; ``statuses`` are the features with serving lookup statuses (``status.<feature>`` columns, log only)."""

    name: str
    key: str
    timestamp: str | None
    statuses: tuple[str, ...]

    @property
    def identity(self) -> str: ...

    @property
    def source(self) -> str: ...

    def columns(self) -> list[str]: ...

    def chunks(self, columns: Sequence[str], chunk_rows: int) -> Iterator[pd.DataFrame]: ...


class FileData:
    """A parquet or CSV file. ``timestamp``: the column that orders its rows; ``required``: it was declared
    (``monitor.timestamp``), so a file without it is an error; otherwise a file without it is not chunked."""

    key = "current"
    statuses: tuple[str, ...] = ()

    def __init__(self, path: Path, timestamp: str | None = None, *, required: bool = False):
        self.path, self.name = Path(path), str(path)
        self._timestamp, self._required = timestamp, required

    @cached_property
    def timestamp(self) -> str | None:
        if self._timestamp is None or self._timestamp in self.columns():
            return self._timestamp
        if self._required:
            raise MonitoringError(
                f"{self.path}: no column '{self._timestamp}' (monitor.timestamp) to cut the rows into time chunks; "
                f"it has: {', '.join(self.columns())}", key="monitor.timestamp", path=str(self.path), column=self._timestamp,
                hint="set monitor.timestamp to the file's time column, or monitor.timestamp=null for the labels' timestamp (if any)",
            )  # fmt: skip
        return None

    @cached_property
    def identity(self) -> str:
        from hydraops.digests import file_sha256

        return f"sha256:{file_sha256(self.path)}"

    @property
    def source(self) -> str:
        return self.identity

    def columns(self) -> list[str]:
        return list(self._columns)

    @cached_property
    def _columns(self) -> tuple[str, ...]:
        if not self.path.is_file():
            raise MonitoringError(f"current={self.path}: no such file", key="current", path=str(self.path))
        if _is_csv(self.path):
            import pandas as pd

            return tuple(pd.read_csv(self.path, nrows=0).columns)
        import pyarrow.parquet as pq

        return tuple(pq.ParquetFile(self.path).schema_arrow.names)

    def chunks(self, columns: Sequence[str], chunk_rows: int) -> Iterator[pd.DataFrame]:
        if _is_csv(self.path):
            import pandas as pd

            yield from pd.read_csv(self.path, usecols=list(columns), chunksize=chunk_rows)
            return
        import pyarrow.parquet as pq

        source = pq.ParquetFile(self.path, pre_buffer=False)  # pre-buffering keeps every row group read until the end
        for batch in source.iter_batches(batch_size=chunk_rows, columns=list(columns)):
            yield batch.to_pandas()


def _is_csv(path: Path) -> bool:
    return path.suffix.lower() == ".csv"


__all__ = ["CurrentData", "FileData"]
