"""benchmarks/features_e2e.py at a tiny size: it runs, hydraops equals the brute-force query, the JSON is complete."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "features_e2e.py"


@pytest.mark.slow  # 6 fresh interpreters and 2 data sets: 20-40 s on a busy 2-core machine
def test_features_e2e_runs_and_agrees_with_the_brute_force_query(tmp_path):
    output = tmp_path / "features_e2e.json"
    argv = [sys.executable, str(SCRIPT), "--sizes", "100", "--dense", "--dense-events", "1000", "--runs", "1"]
    argv += ["--timeout", "120", "--feast-python", str(tmp_path / "no-feast" / "python"), "--output", str(output)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Feast skipped" in proc.stdout
    report = json.loads(output.read_text())
    assert report["contenders"] == ["hydraops", "hydraops-rows", "duckdb"]
    assert set(report["cases"]) == {"churn-100", "dense-3x1000"}
    for name, case in report["cases"].items():
        assert case["agrees_with_brute_force"] is True, (name, case["disagreements"])
        assert set(case["summary"]) == {"hydraops", "hydraops-rows", "duckdb"}
        assert case["rows_check"]["differing_cells"] and not any(case["rows_check"]["differing_cells"].values())  # the row views' values
        for contender, summary in case["summary"].items():
            assert summary["rows"] == case["rows"]["labels"], (name, contender)
            assert summary["median_work_s"] > 0 and summary["median_peak_rss_mib"] > 0
            assert {"time_ratio", "peak_rss_ratio"} <= set(summary)
        assert case["rows_check"]["absent_label_pairs"] == 0
        assert set(case["targets"]) == {"time_le_1.5x_brute_force", "peak_rss_le_1.5x_brute_force", "faster_than_feast", "faster_than_feast-duckdb"}
    assert report["cases"]["dense-3x1000"]["rows"]["labels"] == 3000


def test_the_benchmarks_table_comparison_sees_one_differing_cell_and_equal_nulls(tmp_path):
    import pandas as pd

    sys.path.insert(0, str(SCRIPT.parent))
    try:
        from _e2e_compare import compare_tables
    finally:
        sys.path.remove(str(SCRIPT.parent))
    expected = pd.DataFrame({"k": [1, 2, 3], "plan": ["a", None, "c"], "x": [1.0, None, 3.0]})
    expected.to_parquet(tmp_path / "expected.parquet")
    same = expected.assign(x=[1.0 + 1e-12, None, 3.0])  # within the relative tolerance, null = null
    same.to_parquet(tmp_path / "same.parquet")
    other = expected.assign(plan=["a", "b", "c"], x=[1.0, None, 3.001])
    other.to_parquet(tmp_path / "other.parquet")

    assert compare_tables(tmp_path / "same.parquet", tmp_path / "expected.parquet") == []
    problems = compare_tables(tmp_path / "other.parquet", tmp_path / "expected.parquet")
    assert [p.split(":")[0] for p in problems] == ["plan", "x"]
    assert "1 of 3 cells differ (row 1" in problems[0] and "(row 2" in problems[1]
