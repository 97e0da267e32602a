"""Drift calibration and speed: how often the default drift checks flag no-drift data and a 0.5 std mean shift,
from 1e3 to 1e7 current rows, and how fast the check is beside a bare numpy PSI loop.

    .venv/bin/python benchmarks/monitor.py                        # sizes 1e3 .. 1e7
    .venv/bin/python benchmarks/monitor.py --max-rows 1000000     # stop at 1e6

Calibration: a reference profile of 100,000 rows of the 11 columns of ``hydraops.testing.drift_data``
(7 numeric shapes: normal, uniform, exponential, lognormal, Student t(5), bimodal, Poisson counts; 4
categorical: 10 skewed plans, 4 regions, a boolean, 120 Zipf categories). Per size, fresh samples of the
same distributions (no drift) and samples with every numeric column shifted by 0.5 population std (each
column judged on its own), generated and counted in chunks of 1,000,000 rows, so memory stays bounded.

Speed: 20 numeric + 5 categorical columns, 1,000,000 reference and 1,000,000 current rows: the reference
profile, the drift of every column (hydraops' default methods, then PSI), and numpy's PSI on decile bins
(np.quantile + np.histogram per column; categorical columns by np.unique counts).
Writes ``results/monitor.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import mib, peak_rss_bytes  # noqa: E402
from hydraops.monitoring.drift import DriftThresholds, Method, Sketch, column_drift  # noqa: E402
from hydraops.monitoring.profile import build_profile  # noqa: E402
from hydraops.testing.drift_data import COLUMNS, NUMERIC, chunks, sample  # noqa: E402

TRIALS = {1_000: 200, 10_000: 50, 100_000: 10, 1_000_000: 3, 10_000_000: 1}
CHUNK = 1_000_000


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


def numpy_psi(reference: pd.Series, current: pd.Series) -> float:
    """The bare loop: decile edges of the reference, both histograms, the PSI sum (empty shares as 1e-4)."""
    if reference.dtype.kind in "fiu":
        edges = np.quantile(reference.to_numpy(), np.linspace(0, 1, 11))
        edges[0], edges[-1] = -np.inf, np.inf
        ref, cur = np.histogram(reference, edges)[0], np.histogram(current, edges)[0]
    else:
        keys, ref = np.unique(reference.to_numpy(dtype=str), return_counts=True)
        found, counts = np.unique(current.to_numpy(dtype=str), return_counts=True)
        cur = pd.Series(counts, index=found).reindex(keys, fill_value=0).to_numpy()
    ref, cur = np.maximum(ref / ref.sum(), 1e-4), np.maximum(cur / cur.sum(), 1e-4)
    return float(np.sum((ref - cur) * np.log(ref / cur)))


def speed(rows: int) -> dict:
    rng = np.random.default_rng(1)
    names = {f"x{i}": ["normal", "exponential", "lognormal", "uniform", "bimodal"][i % 5] for i in range(20)}
    names |= {f"c{i}": ["plan", "region", "many", "plan", "flag"][i] for i in range(5)}

    def frame(shift: float) -> pd.DataFrame:
        data = {}
        for name, kind in names.items():
            data[name] = sample([kind], rows, rng, shift={kind: shift} if kind in NUMERIC else None)[kind].to_numpy()
        return pd.DataFrame(data)

    reference, current = frame(0.0), frame(0.1)
    timings = {}
    start = time.perf_counter()
    profile = build_profile(reference)
    timings["profile_s"] = time.perf_counter() - start
    for label, thresholds in (
        ("drift_default_s", DriftThresholds()),
        ("drift_psi_s", DriftThresholds(numeric_method=Method.psi, categorical_method=Method.psi)),
    ):
        start = time.perf_counter()
        results = [column_drift(profile.features[name], current[name], thresholds) for name in names]
        timings[label] = time.perf_counter() - start
    start = time.perf_counter()
    bare = [numpy_psi(reference[name], current[name]) for name in names]
    timings["numpy_psi_incl_reference_bins_s"] = time.perf_counter() - start
    ours = [r.statistic for r in results]
    return {
        "rows": rows, "columns": len(names), **{k: round(v, 3) for k, v in timings.items()},
        "ratio_drift_psi_vs_numpy_psi": round(timings["drift_psi_s"] / timings["numpy_psi_incl_reference_bins_s"], 2),
        "max_abs_psi_difference_vs_numpy": round(float(np.max(np.abs(np.array(ours) - np.array(bare)))), 6),
        "peak_rss_mib": round(mib(peak_rss_bytes())),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-rows", type=int, default=10_000_000)
    parser.add_argument("--speed-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    reference = build_profile(sample(COLUMNS, 100_000, np.random.default_rng(20261130)))
    rng = np.random.default_rng(2)
    calibration = []
    for n, trials in TRIALS.items():
        if n <= args.max_rows:
            calibration.append(rates(reference, n, trials, rng))
            print(json.dumps(calibration[-1]), flush=True)
    timing = speed(args.speed_rows)
    print(json.dumps(timing), flush=True)
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"), "python": platform.python_version(), "machine": platform.machine(),
        "cpus": __import__("os").cpu_count(), "reference_rows": 100_000, "calibration": calibration, "speed": timing,
    }  # fmt: skip
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "monitor.json").write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
