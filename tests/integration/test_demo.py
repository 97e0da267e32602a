"""`make demo`, for real: the Makefile's own recipe (its `cd $(CHURN) && ...` lines) run by make on a scratch copy
of the churn project with fewer customers (the lifecycle, then the closed loop: drifted data served, monitored,
retrained, traced), then the serving part failing half-way, which still stops the server."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, copy_project

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("make") is None, reason="needs make")]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """The churn copy `make demo` ran in, and make's completed process."""
    project = copy_project("churn", tmp_path_factory.mktemp("demo") / "churn")
    command = ["make", "-o", ".venv/.installed", "demo", f"BIN={Path(sys.executable).parent}", f"CHURN={project}", "DEMO_CUSTOMERS=600"]
    env = {k: v for k, v in os.environ.items() if k not in ("HYDRA_FULL_ERROR", "MAKEFLAGS")}
    return project, subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def test_make_demo_serves_calls_stops_and_scores(demo: tuple[Path, subprocess.CompletedProcess]) -> None:
    project, done = demo
    out = done.stdout
    assert done.returncode == 0, out[-6000:] + done.stderr[-4000:]
    assert "done build bundle of churn@champion" in out
    assert "/readyz: ready" in out
    assert re.search(r"POST /predict, customers \[\d+, \d+\] \(features looked up online\): HTTP 200", out)
    assert "POST /predict, invalid (application/problem+json): HTTP 422" in out and '"constraint": "ge=18"' in out
    assert "POST /predict with explain: true, top_k: 3: HTTP 200" in out and '"ok": true' in out
    assert "the service stopped (exit status 143)" in out
    assert_closed(served_port(out))
    assert re.search(r"done score .*to_score\.parquet with churn v1: ([\d,]+) of \1 rows scored", out), out[-3000:]
    assert (project / "artifacts" / "scored.parquet").is_file()
    first, loop = out.split("--drift-after last-month", 1)
    assert first.count("done run lightgbm") == 1 and first.count("done build bundle") == 1, "the second apply trains and builds nothing"
    # the closed loop: drifted data served, the breach found in the prediction log, a retrain, the lineage of a request
    assert re.search(r"served 600 rows of [\d,]+ customers in requests of 50: \{'churn v1': 600\}", loop), loop[-3000:]
    assert "breached data_drift" in loop and (project / "artifacts" / "reports" / "monitor" / "report.html").is_file()
    assert "retrained: run" in loop and loop.count("done run lightgbm") == 1, loop[-3000:]
    request = (project / "artifacts" / "request_id").read_text().strip()
    assert f"lineage of {request} (request)" in loop and "prediction" in loop.split(f"lineage of {request}")[1]


def test_a_failing_step_still_stops_the_server(demo: tuple[Path, subprocess.CompletedProcess]) -> None:
    project, done = demo
    assert done.returncode == 0, done.stdout[-3000:]
    (project / "data" / "tickets.parquet").rename(project / "data" / "tickets.hidden")  # the demo fails once the server is ready
    try:
        failed = subprocess.run([sys.executable, "serve_demo.py"], cwd=project, capture_output=True, text=True, timeout=300)
    finally:
        (project / "data" / "tickets.hidden").rename(project / "data" / "tickets.parquet")
    assert failed.returncode != 0 and "tickets.parquet" in failed.stderr, failed.stdout + failed.stderr
    assert "the service stopped (exit status 143)" in failed.stdout
    assert_closed(served_port(failed.stdout))


def served_port(out: str) -> int:
    return int(re.search(r"\$ hydraops serve port=(\d+)", out).group(1))


def assert_closed(port: int) -> None:
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, f"something still listens on {port}"
