"""Batch scoring: `hydraops.serving.score.score_file` beside a bare script (read_parquet → booster.predict →
write_parquet) on the same file and model, each in a fresh process, with its wall time and peak RSS.

    .venv/bin/python benchmarks/serving_batch.py                 # 1,000,000 rows, 200 trees
    .venv/bin/python benchmarks/serving_batch.py --rows 10000000 --chunk-rows 100000

The model is a LightGBM classifier of 200 trees on 8 numeric features and 1 categorical one, saved as
hydraops saves models; the scorer checks every declared input (dtype, nullable, ge/le, isin) per chunk,
the script checks nothing. Writes ``results/serving_batch.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
LEVELS = {"plan": ["basic", "premium", "standard"]}
NUMERIC = [f"x{i}" for i in range(8)]


def make(work: Path, rows: int) -> None:
    """The input file (``rows.parquet``), the model folder (``model/``) and its ServingSpec (``serving.json``)."""
    import lightgbm
    import mlflow
    import numpy as np
    import pandas as pd

    from hydraops.serving.spec import FeatureField, ModelRef, ServingSpec
    from hydraops.tracking.models import files_sha256
    from hydraops.training.estimators import prepare_features

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({name: rng.normal(0, 1, rows) for name in NUMERIC})
    frame["plan"] = rng.choice(LEVELS["plan"], rows)
    frame.insert(0, "id", np.arange(rows))
    train = frame.head(50_000)
    target = ((train.x0 + train.x1 * train.x2 > 0) ^ (train.plan == "premium")).astype(int)
    model = lightgbm.LGBMClassifier(n_estimators=200, num_leaves=31, verbose=-1).fit(prepare_features(train[[*NUMERIC, "plan"]], LEVELS), target)
    mlflow.lightgbm.save_model(model.booster_, str(work / "model"))
    fields = [FeatureField(n, "float64", nullable=False, ge=-100, le=100) for n in NUMERIC] + [FeatureField("plan", "category", isin=LEVELS["plan"])]
    ref = ModelRef("bench", "1", "run", None, "lightgbm", files_sha256(work / "model"))
    (work / "serving.json").write_text(ServingSpec("bench", ref, "classification", fields, LEVELS).to_json())
    frame.to_parquet(work / "rows.parquet", index=False, row_group_size=100_000)


def run_hydraops(work: Path, chunk_rows: int) -> None:
    from hydraops.serving.predictor import Predictor
    from hydraops.serving.score import ScoreOptions, score_file
    from hydraops.serving.spec import ServingSpec

    predictor = Predictor(ServingSpec.from_json((work / "serving.json").read_text()), work / "model")
    score_file(predictor, work / "rows.parquet", work / "hydraops.parquet", ScoreOptions(chunk_rows=chunk_rows))


def run_script(work: Path, chunk_rows: int) -> None:
    import lightgbm
    import pandas as pd

    from hydraops.training.estimators import prepare_features

    booster = lightgbm.Booster(model_file=str(next((work / "model").glob("*.lgb"))))
    frame = pd.read_parquet(work / "rows.parquet")
    frame["prediction"] = booster.predict(prepare_features(frame[[*NUMERIC, "plan"]], LEVELS))
    frame.to_parquet(work / "script.parquet", index=False)


def timed(work: Path, which: str, chunk_rows: int) -> dict:
    """Run ``which`` in a fresh process: its wall time (s) and peak RSS (MB)."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, __file__, "--run", which, "--work", str(work), "--chunk-rows", str(chunk_rows)])
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{which} failed (status {status})")
    return {"seconds": round(seconds, 3), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--run", choices=["make", "hydraops", "script"])
    parser.add_argument("--work")
    args = parser.parse_args()
    if args.run == "make":
        make(Path(args.work), args.rows)
        return
    if args.run:
        {"hydraops": run_hydraops, "script": run_script}[args.run](Path(args.work), args.chunk_rows)
        return
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as scratch:
        work = Path(scratch)
        # in a process of its own: Linux carries a parent's peak RSS into the children it forks (ru_maxrss)
        subprocess.run([sys.executable, __file__, "--run", "make", "--work", scratch, "--rows", str(args.rows)], check=True)
        runs = {"hydraops": [], "script": []}
        for _ in range(args.runs):  # alternated, so machine noise hits both alike
            for which in runs:
                runs[which].append(timed(work, which, args.chunk_rows))
    best = {which: min(r["seconds"] for r in found) for which, found in runs.items()}
    peak = {which: max(r["peak_rss_mb"] for r in found) for which, found in runs.items()}
    print(f"{args.rows:,} rows, chunk_rows {args.chunk_rows:,}, best of {args.runs}")
    print(f"{'':10} {'seconds':>8} {'peak RSS MB':>12}")
    for which in runs:
        print(f"{which:10} {best[which]:8.2f} {peak[which]:12.0f}")
    print(f"time ratio hydraops/script: {best['hydraops'] / best['script']:.2f}x")
    result = {"rows": args.rows, "chunk_rows": args.chunk_rows, "runs": runs, "best_seconds": best, "peak_rss_mb": peak,
              "ratio": round(best["hydraops"] / best["script"], 3), "python": platform.python_version(),
              "platform": platform.platform(), "cpus": os.cpu_count(), "date": datetime.now(UTC).date().isoformat()}  # fmt: skip
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "serving_batch.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
