"""Drift calibration and speed: how often the default drift checks flag no-drift data and a 0.5 std mean shift,
from 1e3 to 1e7 current rows; how fast they are beside Evidently's DataDriftPreset and a bare numpy PSI loop;
a 1e7 x 100 file checked streamed from parquet.

    .venv/bin/python benchmarks/monitor.py                              # calibration 1e3 .. 1e7, then speed
    .venv/bin/python benchmarks/monitor.py --max-rows 1000000           # calibration up to 1e6
    .venv/bin/python benchmarks/monitor.py --parts speed --runs 3       # speed only
    .venv/bin/python benchmarks/monitor.py --parts stream               # 1e7 rows x 100 columns from parquet

Calibration: a reference profile of 100,000 rows of the 11 columns of ``hydraops.testing.drift_data``
(7 numeric shapes: normal, uniform, exponential, lognormal, Student t(5), bimodal, Poisson counts; 4
categorical: 10 skewed plans, 4 regions, a boolean, 120 Zipf categories). Per size, fresh samples of the
same distributions (no drift) and samples with every numeric column shifted by 0.5 population std (each
column judged on its own), generated and counted in chunks of 1,000,000 rows, so memory stays bounded.
Writes ``results/monitor.json``.

Speed (``_monitor_speed.py``): 20 numeric + 5 categorical columns, 1,000,000 reference and current rows from
parquet, each contender in fresh processes, round-robin: hydraops (profile, drift with the default methods,
drift with PSI), numpy's PSI on decile bins, and Evidently's DataDriftPreset from its own virtualenv, not a
project dependency (it needs pandas < 3); without it the script prints a note and skips Evidently:

    python3.11 -m venv /work/evidently-venv && /work/evidently-venv/bin/pip install evidently 'pandas<3' pyarrow

(``--evidently-python`` or ``$EVIDENTLY_PYTHON`` for another place). Also checks that hydraops and Evidently
agree on the same statistic on the same bins. Writes ``results/monitor_speed.json``.

Stream (``_monitor_stream.py``): ``check_file`` on 1e7 rows x 100 columns of parquet. Writes
``results/monitor_stream.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))
import _monitor_speed as speed  # noqa: E402
from _common import mib, peak_rss_bytes, run_json_child  # noqa: E402
from hydraops.monitoring.drift import Sketch, column_drift  # noqa: E402
from hydraops.monitoring.profile import build_profile  # noqa: E402
from hydraops.testing.drift_data import COLUMNS, NUMERIC, chunks, sample  # noqa: E402

TRIALS = {1_000: 200, 10_000: 50, 100_000: 10, 1_000_000: 3, 10_000_000: 1}
CHUNK = 1_000_000
EVIDENTLY_PYTHON = "/work/evidently-venv/bin/python"


def rates(reference, n: int, trials: int, rng: np.random.Generator) -> dict:
    """No-drift flags per column and detections of a 0.5 std shift per numeric column, over ``trials`` samples."""
    false = dict.fromkeys(COLUMNS, 0)
    detected = dict.fromkeys(NUMERIC, 0)
    methods: dict[str, str] = {}
    start = time.perf_counter()
    for _ in range(trials):
        for shift, counts, names in ((None, false, COLUMNS), (dict.fromkeys(NUMERIC, 0.5), detected, NUMERIC)):
            sketches = {name: Sketch(reference.features[name]) for name in names}
            for chunk in chunks(names, n, rng, chunk_rows=CHUNK, shift=shift):
                for name in names:
                    sketches[name].add(chunk[name])
            for name in names:
                result = column_drift(reference.features[name], sketches[name])
                counts[name] += result.drifted
                methods[name] = result.method.value
    checks = trials * len(COLUMNS)
    return {
        "rows": n, "trials": trials, "methods": methods,
        "false_positive_share": sum(false.values()) / checks, "false_positives": false,
        "detection_share": sum(detected.values()) / (trials * len(NUMERIC)), "detections": detected,
        "seconds": round(time.perf_counter() - start, 2), "peak_rss_mib": round(mib(peak_rss_bytes())),
    }  # fmt: skip


def stream(rows: int, columns: int, folder: Path | None) -> dict:
    """The streamed case (``_monitor_stream.py``): the file generated in one child (unless ``folder`` has it), checked
    in another."""
    with tempfile.TemporaryDirectory(prefix="hydraops-monitor-stream-") as scratch:
        folder = folder or Path(scratch)
        argv = [sys.executable, str(HERE / "_monitor_stream.py")]
        made = {"reused": str(folder)}
        if not (folder / "current.parquet").exists():
            made = run_json_child([*argv, "generate", str(folder), "--rows", str(rows), "--columns", str(columns)], 3600)
        print(json.dumps(made), flush=True)
        checked = run_json_child([*argv, "check", str(folder)], 3600, max_rss=10 * 2**30)
    if "check_s" in checked:
        checked["targets"] = {"le_120s": checked["check_s"] <= 120}
    print(json.dumps(checked), flush=True)
    return {"rows": rows, "columns": columns, "generate": made, "check": checked}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="calibration,speed", help="comma-separated: calibration, speed, stream")
    parser.add_argument("--max-rows", type=int, default=10_000_000, help="calibration: the largest current size")
    parser.add_argument("--speed-rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="speed: rounds of every contender")
    parser.add_argument("--evidently-python", type=Path, default=Path(os.environ.get("EVIDENTLY_PYTHON", EVIDENTLY_PYTHON)),
                        help=f"python of Evidently's virtualenv (default $EVIDENTLY_PYTHON or {EVIDENTLY_PYTHON})")  # fmt: skip
    parser.add_argument("--stream-rows", type=int, default=10_000_000)
    parser.add_argument("--stream-columns", type=int, default=100)
    parser.add_argument("--stream-dir", type=Path, help="stream: generate the file here and keep it (reused when present)")
    parser.add_argument("--out-dir", type=Path, default=HERE / "results")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    about = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"), "python": platform.python_version(), "machine": platform.machine(),
        "cpus": os.cpu_count(), "load_average_before": os.getloadavg(),
    }  # fmt: skip
    args.out_dir.mkdir(parents=True, exist_ok=True)
    if "calibration" in parts:
        reference = build_profile(sample(COLUMNS, 100_000, np.random.default_rng(20261130)))
        rng = np.random.default_rng(2)
        calibration = []
        for n, trials in TRIALS.items():
            if n <= args.max_rows:
                calibration.append(rates(reference, n, trials, rng))
                print(json.dumps(calibration[-1]), flush=True)
        write(args.out_dir / "monitor.json", {**about, "reference_rows": 100_000, "calibration": calibration})
    if "speed" in parts:
        evidently = args.evidently_python if args.evidently_python.exists() else None
        if evidently is None:
            print(f"note: Evidently skipped, no {args.evidently_python} (create it as the module docstring says, or pass --evidently-python)")
        result = speed.run(args.speed_rows, args.runs, evidently)
        print(speed.table(result), flush=True)
        versions = {"numpy": np.__version__, "pandas": pd.__version__, "evidently_and_its_pandas": speed.evidently_version(evidently) if evidently else None}
        write(args.out_dir / "monitor_speed.json", {**about, "versions": versions, **result})
    if "stream" in parts:
        write(args.out_dir / "monitor_stream.json", {**about, **stream(args.stream_rows, args.stream_columns, args.stream_dir)})


def write(path: Path, body: dict) -> None:
    body["load_average_after"] = os.getloadavg()
    path.write_text(json.dumps(body, indent=1) + "\n")


if __name__ == "__main__":
    main()
