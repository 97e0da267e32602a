"""Docs are tested: every ```sh block of README.md and docs/ runs, each in a fresh empty folder.

The pages that take minutes run from test files of their own (OWN_FILE): `--dist loadfile` runs a file
whole on one worker, so one file for every page made a tail of ~7 minutes on a single worker."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)

#: page → the test file (next to this one) that runs its blocks; every other page runs here.
OWN_FILE = {
    "README.md": "test_docs_readme.py",
    "docs/concepts/registry.md": "test_docs_registry.py",
    "docs/concepts/experiments.md": "test_docs_experiments.py",
    "docs/concepts/feature-store.md": "test_docs_feature_store.py",
    "docs/concepts/scoring.md": "test_docs_scoring.py",
    "docs/concepts/monitoring.md": "test_docs_monitoring.py",
    "docs/concepts/lineage.md": "test_docs_lineage.py",
}


def shell_blocks(run_by: str | None = None) -> list[tuple[str, int, str]]:
    """``(page, number, script)`` of every block; with ``run_by``, only those of the pages that file runs."""
    pages = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    blocks = []
    for page in pages:
        name = str(page.relative_to(REPO))
        if run_by is not None and OWN_FILE.get(name, Path(__file__).name) != Path(run_by).name:
            continue
        for number, match in enumerate(_BLOCK.finditer(page.read_text()), start=1):
            blocks.append((name, number, match.group(1)))
    return blocks


def run_block(page: str, number: int, script: str, tmp_path: Path) -> None:
    """Run one block with bash -euo pipefail in an empty folder, its own HYDRAOPS_HOME, hydraops on PATH."""
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["HYDRAOPS_HOME"] = str(tmp_path / "home")
    work = tmp_path / "work"
    work.mkdir()
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{page} block {number} failed:\n{script}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def block_ids(value: object) -> str:
    return str(value)[:40]


@pytest.mark.slow
@pytest.mark.parametrize(("page", "number", "script"), shell_blocks(__file__), ids=block_ids)
def test_shell_block_runs(page: str, number: int, script: str, tmp_path: Path) -> None:
    run_block(page, number, script, tmp_path)


def test_there_are_blocks_to_run() -> None:
    assert len(shell_blocks()) >= 8


def test_every_block_runs_in_exactly_one_file() -> None:
    """A page moved to OWN_FILE still runs: its file exists, and here plus there is every block once."""
    files = set(OWN_FILE.values())
    assert all((Path(__file__).parent / file).is_file() for file in files), files
    here_and_there = shell_blocks(__file__) + [block for file in files for block in shell_blocks(file)]
    assert sorted(here_and_there) == sorted(shell_blocks())
