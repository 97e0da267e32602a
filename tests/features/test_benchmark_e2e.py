"""benchmarks/features_e2e.py at a tiny size: it runs, hydraops equals the brute-force query, the JSON is complete."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "features_e2e.py"


@pytest.mark.slow  # 4 fresh interpreters and 2 data sets: 20-40 s on a busy 2-core machine
def test_features_e2e_runs_and_agrees_with_the_brute_force_query(tmp_path):
    output = tmp_path / "features_e2e.json"
    argv = [sys.executable, str(SCRIPT), "--sizes", "100", "--dense", "--dense-events", "1000", "--runs", "1"]
    argv += ["--timeout", "120", "--feast-python", str(tmp_path / "no-feast" / "python"), "--output", str(output)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Feast skipped" in proc.stdout
    report = json.loads(output.read_text())
    assert report["contenders"] == ["hydraops", "duckdb"]
    assert set(report["cases"]) == {"churn-100", "dense-3x1000"}
    for name, case in report["cases"].items():
        assert case["agrees_with_brute_force"] is True, (name, case["disagreements"])
        assert set(case["summary"]) == {"hydraops", "duckdb"}
        for contender, summary in case["summary"].items():
            assert summary["rows"] == case["rows"]["labels"], (name, contender)
            assert summary["median_work_s"] > 0 and summary["median_peak_rss_mib"] > 0
            assert {"time_ratio", "peak_rss_ratio"} <= set(summary)
        assert set(case["targets"]) == {"time_le_1.5x_brute_force", "peak_rss_le_1.5x_brute_force", "faster_than_feast", "faster_than_feast-duckdb"}
    assert report["cases"]["dense-3x1000"]["rows"]["labels"] == 3000
