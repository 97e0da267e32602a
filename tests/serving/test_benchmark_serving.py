"""benchmarks/serving.py at a tiny size: the three servers start, agree on a row, take the load without an
error and are all stopped; the JSON is complete."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "serving.py"
CONTENDERS = {"hydraops", "hydraops+explain", "mlflow", "bentoml-bare"}


@pytest.mark.slow  # three servers start: 30-90 s on a busy 2-core machine
def test_serving_benchmark_runs_and_the_contenders_agree(tmp_path: Path) -> None:
    output = tmp_path / "serving.json"
    argv = [sys.executable, str(SCRIPT), "--requests", "40", "--warmup", "8", "--rounds", "1", "--out", str(output)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(output.read_text())
    assert set(report["median"]) == CONTENDERS and report["trees"] == 200
    assert report["errors"] == dict.fromkeys(CONTENDERS, 0)
    for name, median in report["median"].items():
        assert 0 < median["p50_ms"] <= median["p99_ms"] and median["throughput_rps"] > 0, name
    assert all(mb > 0 for mb in report["peak_rss_mb"].values()) and set(report["peak_rss_mb"]) == {"hydraops", "mlflow", "bentoml-bare"}
    assert set(report["targets"]) == {"throughput_ge_1.2x_mlflow", "p99_le_30ms", "explain_adds_le_3ms_p99"}
    assert len(report["load_average_before"]) == 3
