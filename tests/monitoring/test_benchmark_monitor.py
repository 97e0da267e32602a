"""benchmarks/monitor.py's speed comparison at a tiny size: it runs without Evidently's virtualenv (a note, no
Evidently figures), and with it (when /work/evidently-venv or $EVIDENTLY_PYTHON exists) hydraops and Evidently
agree on the same statistic on the same bins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "monitor.py"
EVIDENTLY = Path(os.environ.get("EVIDENTLY_PYTHON", "/work/evidently-venv/bin/python"))


def run_speed(tmp_path: Path, evidently: Path) -> tuple[str, dict]:
    argv = [
        sys.executable,
        str(SCRIPT),
        "--parts",
        "speed",
        "--speed-rows",
        "5000",
        "--runs",
        "1",
        "--out-dir",
        str(tmp_path),
        "--evidently-python",
        str(evidently),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout, json.loads((tmp_path / "monitor_speed.json").read_text())


def test_speed_runs_without_evidently(tmp_path: Path) -> None:
    out, report = run_speed(tmp_path, tmp_path / "no-venv" / "python")
    assert "note: Evidently skipped" in out
    assert set(report["median"]) == {"hydraops", "numpy"} and report["columns"] == 25
    assert 0 < report["median"]["hydraops"]["drift_s"] and 0 < report["median"]["numpy"]["psi_s"]
    assert set(report["targets"]) == {"le_3x_numpy_psi_wall", "le_3x_numpy_psi_cpu", "peak_le_2gb"}
    assert report["agreement"]["numpy_psi"]["max_abs"] < 0.05  # different bins: close, not equal


@pytest.mark.slow  # Evidently's report takes ~15 s even on 5,000 rows
@pytest.mark.skipif(not EVIDENTLY.exists(), reason=f"no Evidently virtualenv at {EVIDENTLY}")
def test_speed_with_evidently_agrees_on_the_same_bins(tmp_path: Path) -> None:
    _, report = run_speed(tmp_path, EVIDENTLY)
    assert report["median"]["evidently"]["drift_s"] > 0
    assert report["targets"]["same_bins_agree_1e-6"]
    assert report["agreement"]["preset"]["categorical, same categories"]["max_abs"] < 1e-9
    assert report["agreement"]["bins"]["x0"] == 10 and report["agreement"]["bins"]["c1"] == 4
