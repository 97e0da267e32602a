"""One measured run of ``features_e2e.py``, in a fresh interpreter: ``python _e2e_children.py ROLE FOLDER OUT``.

Imports its libraries first (untimed), then times the work from the raw parquet to the training table
written to ``OUT`` (parquet), and prints one JSON line: ``work_s``, ``cpu_s``, ``baseline_rss`` (peak
before the work) and ``peak_rss`` (VmHWM after it), ``rows``.

- ``hydraops``: ``materialize(repo)`` then ``build_training_table(repo, OUT)`` on an empty offline store
  of its own (``paths.offline_store_dir`` overridden; the project's config is composed untimed);
- ``hydraops-rows``: the same, the config restricted (untimed) to the row views Feast computes (the views
  of ``case.json`` with plain features): their materialization and a training table of their features only;
- ``duckdb``: ``COPY (<the brute-force query>) TO OUT``.
Feast runs from its own virtualenv: ``_e2e_feast.py``.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from _common import peak_rss_bytes  # noqa: E402


def hydraops_work(folder: Path, out: Path, *, row_views_only: bool = False):
    from dataclasses import replace

    from hydraops import load_spec
    from hydraops.features import FeatureRepo, materialize

    try:  # public API; where the training-table builder lives may move with the engine
        from hydraops.features import build_training_table
    except ImportError:
        from hydraops.features.historical import build_training_table

    spec = load_spec(folder, [f"paths.offline_store_dir={out.parent / (out.stem + '-store')}"])
    if row_views_only:  # what Feast computes: the row views, chosen as _e2e_feast.py chooses them
        rows = [view["name"] for view in json.loads((folder / "case.json").read_text())["views"] if "features" in view]
        spec = replace(spec, features=replace(spec.features, views={name: spec.features.views[name] for name in rows}))

    def work() -> int:
        repo = FeatureRepo.from_spec(spec)
        materialize(repo)
        return build_training_table(repo, str(out)).rows

    return work


def duckdb_work(folder: Path, out: Path):
    import duckdb

    from _e2e_brute import brute_force_sql, lit

    sql = brute_force_sql(json.loads((folder / "case.json").read_text()), folder)

    def work() -> int:
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'; SET enable_progress_bar = false")
        return con.execute(f"COPY ({sql}) TO {lit(str(out))} (FORMAT parquet)").fetchone()[0]  # rows written

    return work


def measure(work) -> dict:
    """Time ``work()`` (wall and CPU) and the process's peak memory before and after it."""
    gc.collect()
    baseline = peak_rss_bytes()
    start, cpu = time.perf_counter(), time.process_time()
    rows = work()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"work_s": elapsed, "cpu_s": cpu, "baseline_rss": baseline, "peak_rss": peak_rss_bytes(), "rows": rows}


if __name__ == "__main__":
    role, folder, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    import duckdb  # noqa: F401 - every child imports the same libraries before its baseline
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401 - pyarrow with its parquet module: ~15 ms (it loads pyarrow.fs, ssl)

    if role == "hydraops-rows":
        work = hydraops_work(folder, out, row_views_only=True)
    else:
        work = {"hydraops": hydraops_work, "duckdb": duckdb_work}[role](folder, out)
    print(json.dumps(measure(work)))
