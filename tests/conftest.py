"""Shared fixtures: a scratch copy of an example project, and the hydraops command run for real."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from hydraops.testing import churn_project, copy_example_project

REPO = Path(__file__).resolve().parents[1]
PROJECTS = REPO / "projects"
HYDRAOPS = str(Path(sys.executable).parent / "hydraops")

Run = Callable[..., subprocess.CompletedProcess]


def copy_project(name: str, destination: Path) -> Path:
    """A copy of ``projects/<name>`` without generated data or outputs."""
    return copy_example_project(name, destination)


def generated_churn(destination: Path, customers: int) -> Path:
    """A copy of the churn project at ``destination`` with ``customers`` customers of generated data."""
    return churn_project(destination, customers)


@pytest.fixture
def churn(tmp_path: Path) -> Path:
    """A scratch copy of the churn project."""
    return copy_project("churn", tmp_path / "churn")


@pytest.fixture
def hydraops(request: pytest.FixtureRequest) -> Run:
    """Run the installed ``hydraops`` command; returns the completed process (text output). In a module marked
    ``in_process``, :func:`hydraops_here` instead: verbs whose process itself is not under test skip the
    interpreter start and its seconds of imports."""
    if request.node.get_closest_marker("in_process"):
        return request.getfixturevalue("hydraops_here")

    def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        environment = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"} | (env or {})
        return subprocess.run([HYDRAOPS, *args], cwd=cwd, capture_output=True, text=True, env=environment, timeout=120)

    return run


@pytest.fixture
def hydraops_here(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> Run:
    """``hydraops ARGS`` run in this process from ``cwd`` (``hydraops.cli.run``: the same parsing, Hydra, output
    and exit status, without an interpreter start and its seconds of imports); returns a completed process."""
    from hydraops.cli import run

    def call(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        monkeypatch.chdir(cwd)
        monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        code = run(list(args))
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(["hydraops", *args], code, out, err)

    return call


def snapshot(root: Path) -> dict[str, float]:
    """Every file under ``root`` with its modification time: compare two to prove nothing was written."""
    return {str(path.relative_to(root)): path.stat().st_mtime for path in root.rglob("*")}


@pytest.fixture(scope="session")
def postgres_mlflow(tmp_path_factory: pytest.TempPathFactory):
    """One MLflow server on PostgreSQL for the whole session: ``(url, its artifacts folder)``."""
    from tests.mlflow_server import mlflow_server

    artifacts = tmp_path_factory.mktemp("server-artifacts")
    with mlflow_server(artifacts) as url:
        yield url, artifacts


def pytest_configure(config: pytest.Config) -> None:
    from tests.scheduling import FileTimer

    config.pluginmanager.register(FileTimer(), "hydraops-file-timer")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest files first, for --dist loadfile (tests/scheduling.py)."""
    from tests.scheduling import longest_files_first

    longest_files_first(config, items)
