"""The shell block of docs/concepts/lineage.md (train, promote, log a request, trace it), in a file of its own so
that it runs on a worker of its own (see tests/test_docs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_docs import block_ids, run_block, shell_blocks


@pytest.mark.slow
@pytest.mark.parametrize(("page", "number", "script"), shell_blocks(__file__), ids=block_ids)
def test_shell_block_runs(page: str, number: int, script: str, tmp_path: Path) -> None:
    run_block(page, number, script, tmp_path)
