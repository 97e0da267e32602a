"""Where the files that ship with hydraops live: the config library and the project templates."""

from __future__ import annotations

from pathlib import Path


def packaged_dir(name: str) -> Path:
    """``conf`` or ``projects``: inside the installed wheel, or at the repository root in a source checkout."""
    inside = Path(__file__).resolve().parent / name
    return inside if inside.is_dir() else Path(__file__).resolve().parents[2] / name
