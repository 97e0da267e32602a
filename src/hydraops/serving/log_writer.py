"""The service's prediction log writer: served rows queued off the request path, written in batches by one
background thread per worker process (read back with ``hydraops.serving.prediction_log``).

    log = PredictionLog(spec, sink, shadow)     # sink: ParquetSink or PostgresSink (log_stores)
    log.offer(entries)                          # request path: never blocks; rows beyond queue_size are dropped, counted
    log.close()                                 # graceful stop: every queued row written, then the thread ends

The thread writes when ``flush_rows`` rows wait or ``flush_seconds`` passed since its last write. It scores
the shadow model on each batch there, so a shadow never slows or fails a request. A batch that fails to
write is kept (within ``queue_size`` rows, the oldest dropped beyond) and written with the next one.
"""

from __future__ import annotations

import atexit
import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import bentoml

from hydraops.serving.prediction_log import FEATURE, KEY, STATUS, log_schema

if TYPE_CHECKING:
    import pyarrow as pa

    from hydraops.serving.shadow import Shadow
    from hydraops.serving.spec import ServingSpec

logger = logging.getLogger(__name__)

WRITTEN = bentoml.metrics.Counter(name="hydraops_prediction_log_written", documentation="Served rows written to the prediction log",
                                  labelnames=["model", "version"])  # fmt: skip
DROPPED = bentoml.metrics.Counter(name="hydraops_prediction_log_dropped",
                                  documentation="Served rows not logged: the queue was full, or a write failed until the service stopped",
                                  labelnames=["model", "version"])  # fmt: skip
WRITE_ERRORS = bentoml.metrics.Counter(name="hydraops_prediction_log_write_errors", documentation="Failed writes of a batch (retried)",
                                       labelnames=["model", "version"])  # fmt: skip


@dataclass(frozen=True, slots=True)
class Entry:
    """One served row as the request path hands it over: nothing converted yet."""

    request_id: str
    row: int
    time: datetime
    keys: dict[str, Any]
    values: dict[str, Any]
    statuses: dict[str, str]
    prediction: float
    explanation: dict[str, Any] | None = None


class Sink(Protocol):
    def write(self, columns: dict[str, list], schema: pa.Schema) -> None: ...
    def close(self) -> None: ...


def entries(spec: ServingSpec, request_id: str, rows: list[dict], values: list[dict], statuses: list[dict], predictions: list[float],
            explanations: list[dict] | None = None) -> list[Entry]:  # fmt: skip
    """A request's rows as log entries: its entity keys, the values served and their statuses, its predictions."""
    now = datetime.now(UTC)
    keys = list(dict.fromkeys(key for view in spec.views for key in view.join_keys))
    return [
        Entry(request_id, i, now, {k: row[k] for k in keys if k in row}, values[i], statuses[i], predictions[i], explanations[i] if explanations else None)
        for i, row in enumerate(rows)
    ]


class PredictionLog:
    """The bounded queue of a worker process and the thread that drains it into ``sink``."""

    def __init__(self, spec: ServingSpec, sink: Sink, shadow: Shadow | None = None):
        settings = dict(spec.service.get("prediction_log") or {})
        self.queue_size = int(settings.get("queue_size", 10_000))
        self.flush_rows = max(1, min(int(settings.get("flush_rows", 1000)), self.queue_size))
        self.flush_seconds = float(settings.get("flush_seconds", 5.0))
        self.spec, self.sink, self.shadow = spec, sink, shadow
        self.schema = log_schema(spec)
        self.labels = {"model": spec.model.name, "version": spec.model.version}
        self._queue: list[Entry] = []
        self._unwritten: list[dict[str, list]] = []  # built batches whose write failed, retried first
        self._wake = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="hydraops-prediction-log", daemon=True)
        self._thread.start()
        atexit.register(self.close)  # a process ending without a graceful stop still writes its queue

    def offer(self, batch: list[Entry]) -> None:
        """Queue ``batch`` without waiting: what does not fit is dropped and counted."""
        with self._wake:
            room = 0 if self._closing else self.queue_size - len(self._queue)
            kept = batch[: max(room, 0)]
            self._queue.extend(kept)
            if len(self._queue) >= self.flush_rows:
                self._wake.notify()
        if len(kept) < len(batch):
            DROPPED.labels(**self.labels).inc(len(batch) - len(kept))

    def close(self, timeout: float = 30.0) -> None:
        """Write everything queued, then stop the thread (idempotent)."""
        atexit.unregister(self.close)
        with self._wake:
            self._closing = True
            self._wake.notify()
        self._thread.join(timeout)
        if self._thread.is_alive():
            logger.error("the prediction log writer did not finish within %s s: %d queued row(s) unwritten", timeout, len(self._queue))
        self.sink.close()

    def _run(self) -> None:
        last = time.monotonic()
        while True:
            with self._wake:
                while not self._closing and len(self._queue) < self.flush_rows and (left := last + self.flush_seconds - time.monotonic()) > 0:
                    self._wake.wait(left)
                batch, self._queue = self._queue, []
                closing = self._closing
            if batch or self._unwritten:
                self._write(batch, final=closing)
            last = time.monotonic()
            if closing:
                with self._wake:
                    if not self._queue:
                        return

    def _write(self, batch: list[Entry], *, final: bool) -> None:
        if batch:
            try:
                self._unwritten.append(self._columns(batch))
            except Exception:  # a value the declared types cannot hold: said and counted, never silent
                logger.exception("prediction log: %d row(s) cannot be converted to the log's columns", len(batch))
                DROPPED.labels(**self.labels).inc(len(batch))
        while self._unwritten:
            columns = self._unwritten[0]
            rows = len(columns["request_id"])
            try:
                self.sink.write(columns, self.schema)
            except Exception as error:  # noqa: BLE001 - the log's store is down: kept, retried with the next batch
                WRITE_ERRORS.labels(**self.labels).inc()
                logger.error("prediction log: writing %d row(s) failed (%s)%s", rows, error, "; they are lost" if final else "; retried")
                self._bound_unwritten(drop_all=final)
                return
            self._unwritten.pop(0)
            WRITTEN.labels(**self.labels).inc(rows)

    def _bound_unwritten(self, *, drop_all: bool) -> None:
        """Unwritten batches keep at most ``queue_size`` rows (all go when the service stops): the oldest are dropped, counted."""
        while self._unwritten and (drop_all or sum(len(c["request_id"]) for c in self._unwritten) > self.queue_size):
            DROPPED.labels(**self.labels).inc(len(self._unwritten.pop(0)["request_id"]))

    def _columns(self, batch: list[Entry]) -> dict[str, list]:
        """The batch as the log's columns (Python values of the schema's types), the shadow scored on it."""
        spec, types = self.spec, {f.name: str(f.type) for f in self.schema}
        columns: dict[str, list] = {
            "request_id": [e.request_id for e in batch], "row": [e.row for e in batch], "time": [e.time for e in batch],
            "model_name": [spec.model.name] * len(batch), "model_version": [spec.model.version] * len(batch),
        }  # fmt: skip
        for name in (n for n in self.schema.names if n.startswith(KEY)):
            key = name[len(KEY) :]
            columns[name] = [None if e.keys.get(key) is None else str(e.keys[key]) for e in batch]
        for f in spec.features:
            convert = _CONVERT[types[FEATURE + f.name]]
            columns[FEATURE + f.name] = [None if e.values.get(f.name) is None else convert(e.values[f.name]) for e in batch]
        for f in spec.features:
            columns[STATUS + f.name] = [e.statuses.get(f.name) for e in batch]
        columns["prediction"] = [e.prediction for e in batch]
        columns["explanation"] = [None if e.explanation is None else json.dumps(e.explanation, default=str) for e in batch]
        shadow_predictions, error = self.shadow.score([e.values for e in batch]) if self.shadow else ([None] * len(batch), None)
        columns["shadow_model_version"] = [self.shadow.version if self.shadow else None] * len(batch)
        columns["shadow_prediction"] = shadow_predictions
        columns["shadow_error"] = [error] * len(batch)
        return columns


def _timestamp(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


_CONVERT = {"int64": int, "double": float, "bool": bool, "string": str, "timestamp[us, tz=UTC]": _timestamp}


def open_log(spec: ServingSpec, folder, url: str | None = None) -> PredictionLog | None:
    """The prediction log of the bundle in ``folder`` (its shadow model loaded from ``shadow/``), or None
    when it logs nothing; ``url`` replaces the declared PostgreSQL URL or parquet directory."""
    from pathlib import Path

    from hydraops.serving.log_stores import open_sink

    if spec.prediction_log is None or not (spec.service.get("prediction_log") or {}).get("enabled", True):
        return None
    shadow = None
    if spec.shadow is not None:
        from hydraops.serving.shadow import SHADOW_DIR, Shadow

        shadow = Shadow(spec, Path(folder) / SHADOW_DIR)
    return PredictionLog(spec, open_sink(spec.prediction_log, url), shadow)
