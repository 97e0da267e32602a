"""Docs are tested: every ```sh block of README.md and docs/ runs, each in a fresh empty folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)


def shell_blocks() -> list[tuple[str, int, str]]:
    pages = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    blocks = []
    for page in pages:
        for number, match in enumerate(_BLOCK.finditer(page.read_text()), start=1):
            blocks.append((str(page.relative_to(REPO)), number, match.group(1)))
    return blocks


@pytest.mark.slow
@pytest.mark.parametrize(("page", "number", "script"), shell_blocks(), ids=lambda v: str(v)[:40])
def test_shell_block_runs(page: str, number: int, script: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["HYDRAOPS_HOME"] = str(tmp_path / "home")
    work = tmp_path / "work"
    work.mkdir()
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{page} block {number} failed:\n{script}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def test_there_are_blocks_to_run() -> None:
    assert len(shell_blocks()) >= 8
