"""``monitor.py``'s streamed case: ``check_file`` on a parquet file of ``rows`` × ``columns``, in bounded memory.

    python _monitor_stream.py generate DIR --rows 10000000 --columns 100     # the file and the reference profile
    python _monitor_stream.py check DIR                                      # one timed check_file

``generate`` writes ``DIR/current.parquet`` (row groups of 100,000 rows; four in five columns numeric, cycling
over the 7 numeric shapes of ``hydraops.testing.drift_data``, the rest categorical: plans, regions, a boolean,
120 Zipf categories), drawn 1,000,000 rows at a time, and ``DIR/profile.json``, the profile of a further
1,000,000-row sample of the same columns (the reference, built at train time in real use). ``check`` loads the
profile (untimed) and times ``hydraops.monitoring.check.check_file`` with the default thresholds: every column's
drift, read in chunks of 100,000 rows. Each prints one JSON line (wall and CPU seconds, peak RSS ``VmHWM``).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from _common import peak_rss_bytes  # noqa: E402

CHUNK = 1_000_000
ROW_GROUP = 100_000


def kinds(columns: int) -> dict[str, str]:
    from hydraops.testing.drift_data import NUMERIC

    categorical = ("plan", "region", "flag", "many")
    return {f"col{i:03d}": categorical[(i // 5) % 4] if i % 5 == 4 else NUMERIC[i % len(NUMERIC)] for i in range(columns)}


def frame(columns: dict[str, str], rows: int, rng):
    import pandas as pd

    from hydraops.testing.drift_data import sample

    return pd.DataFrame({name: sample([kind], rows, rng)[kind].to_numpy() for name, kind in columns.items()})


def generate(folder: Path, rows: int, columns: int) -> dict:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from hydraops.monitoring.profile import build_profile

    folder.mkdir(parents=True, exist_ok=True)
    names, rng = kinds(columns), np.random.default_rng(7)
    start = time.perf_counter()
    profile = build_profile(frame(names, CHUNK, rng))
    profile_s = time.perf_counter() - start
    (folder / "profile.json").write_text(profile.to_json())
    start, writer = time.perf_counter(), None
    for offset in range(0, rows, CHUNK):
        table = pa.Table.from_pandas(frame(names, min(CHUNK, rows - offset), rng), preserve_index=False)
        writer = writer or pq.ParquetWriter(folder / "current.parquet", table.schema)
        writer.write_table(table, row_group_size=ROW_GROUP)
    writer.close()
    size = (folder / "current.parquet").stat().st_size
    return {"profile_s": profile_s, "write_s": time.perf_counter() - start, "file_bytes": size, "peak_rss": peak_rss_bytes()}


def check(folder: Path) -> dict:
    from hydraops.config.schemas import MonitorSpec
    from hydraops.monitoring.check import check_file
    from hydraops.monitoring.profile import Profile

    profile = Profile.from_json((folder / "profile.json").read_text())
    gc.collect()
    baseline = peak_rss_bytes()
    start, cpu = time.perf_counter(), time.process_time()
    report = check_file(profile, folder / "current.parquet", MonitorSpec(report_dir=str(folder / "reports")))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    methods = sorted({r.method.value for r in report.drift})
    return {"check_s": elapsed, "check_cpu_s": cpu, "rows": report.rows, "columns": len(report.drift), "methods": methods,
            "drifted_columns": sum(r.drifted for r in report.drift), "baseline_rss": baseline, "peak_rss": peak_rss_bytes()}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("generate", "check"))
    parser.add_argument("dir", type=Path)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--columns", type=int, default=100)
    args = parser.parse_args()
    result = generate(args.dir, args.rows, args.columns) if args.step == "generate" else check(args.dir)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
