"""The shell blocks of docs/concepts/monitoring.md (train, monitor, retrain), in a file of their own so that they run
on a worker of their own (see tests/test_docs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_docs import block_ids, run_block, shell_blocks


@pytest.mark.slow
@pytest.mark.parametrize(("page", "number", "script"), shell_blocks(__file__), ids=block_ids)
def test_shell_block_runs(page: str, number: int, script: str, tmp_path: Path) -> None:
    run_block(page, number, script, tmp_path)
