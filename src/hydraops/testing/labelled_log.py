"""A prediction log and the labels that arrive for it, in the log's own parquet layout, for performance tests.

log, labels = labelled_log(days=3, customers=500, flipped={"2026-11-02"}, seed=1)
write_log(folder, log)          # date=YYYY-MM-DD/part-0.parquet, as the service writes it
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

START = datetime(2026, 11, 1, tzinfo=UTC)


def labelled_log(*, days: int = 3, customers: int = 500, flipped: Collection[str] = (), seed: int = 0, version: str = "1",
                 start: datetime = START, model: str = "churn") -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """Each customer scored once a day (at a random time) by ``model`` ``version``; its label, drawn from the
    score, stamped an hour later. On the days (ISO dates) in ``flipped`` the labels are the opposite: the model
    is wrong there."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    logs, labels = [], []
    for day in range(days):
        base = start + timedelta(days=day)
        times = pd.Series(pd.to_datetime([base + timedelta(seconds=float(s)) for s in rng.uniform(0, 80_000, customers)], utc=True))
        score = rng.beta(2, 2, customers)
        label = (rng.random(customers) < score).astype(int)
        if base.date().isoformat() in flipped:
            label = 1 - label
        ids = np.arange(customers)
        logs.append(pd.DataFrame({"request_id": [f"r{day}-{i}" for i in ids], "row": 0, "time": times, "model_name": model,
                                  "model_version": version, "key.customer_id": ids.astype(str), "prediction": score}))  # fmt: skip
        labels.append(pd.DataFrame({"customer_id": ids, "label_time": (times + pd.Timedelta(hours=1)).dt.tz_localize(None), "churned": label}))
    return pd.concat(logs, ignore_index=True), pd.concat(labels, ignore_index=True)


def write_log(folder: Path | str, log: pd.DataFrame) -> Path:
    """``log`` as the service's parquet prediction log under ``folder``: one file per UTC date."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(folder)
    for day, rows in log.groupby(log["time"].dt.date):
        part = folder / f"date={day.isoformat()}"
        part.mkdir(parents=True, exist_ok=True)
        rows = rows.assign(time=rows["time"].dt.tz_convert("UTC").dt.tz_localize(None)).reset_index(drop=True)  # naive UTC in, UTC out
        table = pa.Table.from_pandas(rows, preserve_index=False)
        utc = table.schema.set(table.schema.get_field_index("time"), pa.field("time", pa.timestamp("us", tz="UTC")))
        pq.write_table(table.cast(utc), part / "part-0.parquet")
    return folder


__all__ = ["labelled_log", "write_log"]
