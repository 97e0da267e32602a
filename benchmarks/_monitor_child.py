"""One timed drift computation of ``monitor.py``'s speed comparison, in a fresh process (project venv).

    python _monitor_child.py hydraops DIR [--bins-out BINS.json]
    python _monitor_child.py numpy DIR

Reads ``DIR/reference.parquet`` and ``DIR/current.parquet`` (untimed), then times:

- ``hydraops``: the reference profile (``build_profile``, once at train time in real use), the drift of every
  column with the default methods (normed Wasserstein, Jensen-Shannon), and again with PSI. After the clock:
  each column's default statistic, PSI and Jensen-Shannon distance, and with ``--bins-out`` the bins they
  were computed on (what ``_evidently_drift.py --bins`` needs to run Evidently's stattests on the same bins);
- ``numpy``: the bare PSI loop (:func:`numpy_psi`), reference bins included.

Prints one JSON line: wall and CPU seconds, peak RSS (``VmHWM``) before and after, the values per column.
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

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from _common import peak_rss_bytes  # noqa: E402


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


def psi_bins(column) -> dict:
    """The bins hydraops' PSI and Jensen-Shannon use for ``column`` (a ColumnProfile), as JSON: numeric, the
    profile's edges and the PSI bin of each profile bin (``drift._psi_bins``: quantile bins merged into
    ``PSI_BINS`` of equal reference mass; values below the min join the first, above the max the last);
    categorical, the kept categories (the rest is ``other``)."""
    from hydraops.monitoring.drift import PSI_BINS

    if not column.numeric:
        return {"kind": "categorical", "categories": list(column.categories)}
    counts = np.asarray(column.counts, dtype=float)
    middle = (np.cumsum(counts) - counts / 2) / counts.sum()
    group = np.minimum((middle * PSI_BINS).astype(int), PSI_BINS - 1)
    return {"kind": "numeric", "edges": list(column.edges), "group": group.tolist()}


def run_hydraops(reference: pd.DataFrame, current: pd.DataFrame, bins_out: Path | None) -> dict:
    from hydraops.monitoring.drift import DriftThresholds, Method, Sketch, column_drift, jensenshannon, normed_wasserstein, psi
    from hydraops.monitoring.profile import build_profile

    timings = {}
    start, cpu = time.perf_counter(), time.process_time()
    profile = build_profile(reference)
    timings["profile"] = (time.perf_counter() - start, time.process_time() - cpu)
    results = {}
    for label, thresholds in (("drift", DriftThresholds()), ("drift_psi", DriftThresholds(numeric_method=Method.psi, categorical_method=Method.psi))):
        start, cpu = time.perf_counter(), time.process_time()
        results[label] = [column_drift(profile.features[name], current[name], thresholds) for name in current.columns]
        timings[label] = (time.perf_counter() - start, time.process_time() - cpu)
    peak = peak_rss_bytes()
    columns = {}
    for result in results["drift"]:  # untimed: every statistic on the same sketch
        reference_column = profile.features[result.column]
        sketch = Sketch.of(reference_column, current[result.column])
        columns[result.column] = {
            "method": result.method.value, "statistic": result.statistic, "psi": psi(reference_column, sketch),
            "jensenshannon": jensenshannon(reference_column, sketch),
            "wasserstein_binned": normed_wasserstein(reference_column, sketch) if reference_column.numeric else None,
        }  # fmt: skip
    if bins_out is not None:
        bins_out.write_text(json.dumps({name: psi_bins(column) for name, column in profile.features.items()}))
    return {
        **{f"{k}_s": v[0] for k, v in timings.items()}, **{f"{k}_cpu_s": v[1] for k, v in timings.items()},
        "peak_rss": peak, "columns": columns,
    }  # fmt: skip


def run_numpy(reference: pd.DataFrame, current: pd.DataFrame) -> dict:
    start, cpu = time.perf_counter(), time.process_time()
    values = {name: numpy_psi(reference[name], current[name]) for name in current.columns}
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"psi_s": elapsed, "psi_cpu_s": cpu, "peak_rss": peak_rss_bytes(), "columns": {k: {"psi": v} for k, v in values.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("role", choices=("hydraops", "numpy"))
    parser.add_argument("dir", type=Path)
    parser.add_argument("--bins-out", type=Path)
    args = parser.parse_args()
    if args.role == "hydraops":
        import scipy.spatial.distance
        import scipy.stats  # noqa: F401

        import hydraops.monitoring.drift  # noqa: F401
    reference = pd.read_parquet(args.dir / "reference.parquet")
    current = pd.read_parquet(args.dir / "current.parquet")
    gc.collect()
    baseline = peak_rss_bytes()
    result = run_hydraops(reference, current, args.bins_out) if args.role == "hydraops" else run_numpy(reference, current)
    print(json.dumps({"baseline_rss": baseline, **result}))


if __name__ == "__main__":
    main()
