"""Evidently's DataDriftPreset on ``monitor.py``'s speed data, in Evidently's own virtualenv (it needs pandas < 3).

    /work/evidently-venv/bin/python _evidently_drift.py DIR [--bins BINS.json]

Reads ``DIR/reference.parquet`` and ``DIR/current.parquet`` and imports Evidently (untimed), then times
``Report([DataDriftPreset()]).run(current, reference)`` with every float column numerical and every other one
categorical (a ``DataDefinition``, so nothing is left to inference). After the clock, with ``--bins`` (the bins
hydraops' PSI and Jensen-Shannon use, written by ``_monitor_child.py --bins-out``): Evidently's own
``psi_stat_test`` and ``jensenshannon_stat_test`` on each column's values labelled by those bins (passed as a
categorical feature, so Evidently counts the same bins hydraops counts).

Prints one JSON line: wall and CPU seconds of the run, peak RSS (``VmHWM``) before and after, per column the
preset's method and statistic, and the same-bins statistics. Imports: the standard library, numpy, pandas,
Evidently, and ``_common.py`` (standard library only).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import pandas as pd

from _common import peak_rss_bytes


def preset_drift(reference: pd.DataFrame, current: pd.DataFrame) -> tuple[dict, float, float]:
    """Per column ``{"method", "statistic"}`` from the preset's ValueDrift metrics; wall and CPU seconds of the run."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    numerical = [c for c in reference.columns if reference[c].dtype.kind == "f"]
    definition = DataDefinition(numerical_columns=numerical, categorical_columns=[c for c in reference.columns if c not in numerical])
    start, cpu = time.perf_counter(), time.process_time()
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(current, data_definition=definition), Dataset.from_pandas(reference, data_definition=definition)
    )
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    columns = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config.get("type", "").endswith("ValueDrift"):
            columns[config["column"]] = {"method": config["method"], "statistic": float(metric["value"])}
    return columns, elapsed, cpu


def category_key(value) -> str:
    """hydraops' key of a category (``hydraops.monitoring.profile.category_key``): True, 3 (also for 3.0), 2.5, text."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return str(value)


def labelled(values: pd.Series, bins: dict) -> pd.Series:
    """Each value as the label of its hydraops bin: a PSI bin number, or a kept category / ``other``."""
    if bins["kind"] == "numeric":
        edges, group = np.asarray(bins["edges"]), np.asarray(bins["group"])
        index = np.clip(np.searchsorted(edges, values.to_numpy(dtype=float), side="right") - 1, 0, len(group) - 1)
        return pd.Series(group[index])
    kept = set(bins["categories"])
    keys = {value: category_key(value) for value in values.unique()}
    return values.map(lambda v: keys[v] if keys[v] in kept else "\0other")


def same_bins(reference: pd.DataFrame, current: pd.DataFrame, spec: dict) -> dict:
    from evidently.legacy.calculations.stattests import jensenshannon_stat_test, psi_stat_test
    from evidently.legacy.core import ColumnType

    found = {}
    for name, bins in spec.items():
        ref, cur = labelled(reference[name], bins), labelled(current[name], bins)
        found[name] = {
            "psi": float(psi_stat_test(ref, cur, ColumnType.Categorical, None).drift_score),
            "jensenshannon": float(jensenshannon_stat_test(ref, cur, ColumnType.Categorical, None).drift_score),
            "bins": int(pd.concat([ref, cur]).nunique()),
        }
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--bins", type=Path)
    args = parser.parse_args()
    import evidently
    import evidently.presets
    import scipy.stats  # noqa: F401

    reference = pd.read_parquet(args.dir / "reference.parquet")
    current = pd.read_parquet(args.dir / "current.parquet")
    gc.collect()
    baseline = peak_rss_bytes()
    columns, elapsed, cpu = preset_drift(reference, current)
    peak = peak_rss_bytes()
    result = {"evidently": evidently.__version__, "pandas": pd.__version__, "drift_s": elapsed, "drift_cpu_s": cpu,
              "baseline_rss": baseline, "peak_rss": peak, "columns": columns}  # fmt: skip
    if args.bins is not None:
        result["same_bins"] = same_bins(reference, current, json.loads(args.bins.read_text()))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
