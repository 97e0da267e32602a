"""A real MLflow server on 127.0.0.1 backed by PostgreSQL (a database of its own, dropped afterwards), started
with the command docs/how-to/shared-stack.md gives. Skips the test when PostgreSQL is not there."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

POSTGRES = "postgresql://postgres@127.0.0.1:5432"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def mlflow_server(artifacts: Path) -> Iterator[str]:
    """The server's URL, for the duration of the block."""
    psycopg = pytest.importorskip("psycopg")
    database = f"hydraops_test_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(f"{POSTGRES}/test", autocommit=True)
    except psycopg.OperationalError:
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    admin.execute(f"CREATE DATABASE {database}")
    port = free_port()
    mlflow = str(Path(sys.executable).parent / "mlflow")
    process = subprocess.Popen(
        [mlflow, "server", "--backend-store-uri", f"{POSTGRES}/{database}", "--artifacts-destination", str(artifacts),
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        import requests

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/health", timeout=2).ok:
                    break
            except requests.RequestException:
                time.sleep(0.5)
        else:
            pytest.fail("the MLflow server did not come up within 90 s")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        admin.close()
