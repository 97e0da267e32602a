"""The seconds tests/scheduling.py knows for a fresh clone name files that exist: a renamed file would
silently lose its place at the front of the queue."""

from __future__ import annotations

from tests.conftest import REPO
from tests.scheduling import KNOWN_SECONDS


def test_every_file_with_known_seconds_exists() -> None:
    assert [file for file in KNOWN_SECONDS if not (REPO / file).is_file()] == []
