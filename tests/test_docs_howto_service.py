"""docs/how-to/call-the-service.md runs: its ``bash`` and ``python`` blocks call a service, so they run here
against a tiny bundle served for real (``hydraops.testing.bundles``), one server for the page. A ``bash``
block gets the service's address in ``URL``; a ``python`` block's ``http://127.0.0.1:3000`` is replaced by
it. Each block runs with ``bash -euo pipefail`` (or Python) in a fresh folder and must exit 0; the blocks
whose output says something checkable are checked below."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

PAGE = REPO / "docs" / "how-to" / "call-the-service.md"
_BLOCK = re.compile(r"^```(bash|python)\n(.*?)^```", re.S | re.M)
DOCUMENTED_URL = "http://127.0.0.1:3000"

#: a text of the block → what its output must hold
EXPECTED = {
    '"rows": [{"customer_id": 1, "amount": 12.5}, {"customer_id": 3': ['"present"', '"missing"'],
    '"plan": "basic"': ['"given"', '"present"'],
    '"explain": true, "top_k": 2': ['"ok": true', '"rest"'],
    "problem.json": ["curl exit status 22", "422", "x-request-id: order-1234", "row 0 amount: ge=0", "row 1 customer_id: required", "row 1 plan: isin="],
    "text/csv": ['{"predictions": ['],
    "/infer": ['"req-7"'],
    "hydraops_": ["livez 200", '{"status": "ready"}', "hydraops_predictions_total"],
    "get_predictions()": ["0"],
}

pytestmark = pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="the page's shell blocks use curl and jq")


def blocks() -> list[tuple[int, str, str]]:
    return [(number, match.group(1), match.group(2)) for number, match in enumerate(_BLOCK.finditer(PAGE.read_text()), start=1)]


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from hydraops.testing.bundles import running_service, tiny_bundle

    bundle = tiny_bundle(tmp_path_factory.mktemp("howto") / "bundle")
    with running_service(bundle.folder) as served:
        yield served


def test_the_page_has_blocks_of_both_kinds_and_each_check_matches_a_block() -> None:
    found = blocks()
    assert {kind for _, kind, _ in found} == {"bash", "python"} and len(found) >= 10
    assert all(any(key in script for _, _, script in found) for key in EXPECTED), "a check whose block is gone"


@pytest.mark.slow
@pytest.mark.parametrize(("number", "kind", "script"), blocks(), ids=lambda value: str(value)[:30])
def test_block_runs_against_a_served_bundle(number: int, kind: str, script: str, url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"} | {"URL": url}
    if kind == "bash":
        command = ["bash", "-euo", "pipefail", "-c", script]
    else:
        assert DOCUMENTED_URL in script, "a python block names the documented address"
        command = [sys.executable, "-c", script.replace(DOCUMENTED_URL, url)]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"block {number} failed:\n{script}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    for key, wanted in EXPECTED.items():
        if key in script:
            missing = [text for text in wanted if text not in done.stdout]
            assert not missing, f"block {number}: {missing} not in its output:\n{done.stdout}"
