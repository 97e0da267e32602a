"""The offline store: one folder per view, one sub-folder per version, a CURRENT pointer moved last.

    <offline_dir>/<view>/versions/<version>/date=YYYY-MM-DD/*.parquet   the timeline, by valid-from date
    <offline_dir>/<view>/versions/<version>/manifest.json               what was computed, from what, checks
    <offline_dir>/<view>/CURRENT                                         the version readers use

A new version is written to a staging folder, validated, moved into place, and only then made CURRENT
(an atomic rename), so a failed materialization leaves the previous version serving.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hydraops.errors import FeatureStoreError

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Manifest:
    """What a version of a view's timeline holds and how it was made."""

    view: str
    version: str
    join_keys: list[str]
    features: list[str]
    ttl_us: int | None
    tz_aware: bool
    start: str | None
    end: str | None
    rows: int
    entities: int
    created_at: str
    last_change_us: int | None = None  # the timeline's last change, before any start/end bound
    sources: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def view_dir(offline_dir: Path, view: str) -> Path:
    return Path(offline_dir) / view


def current_manifest(offline_dir: Path, view: str) -> Manifest | None:
    """The manifest of the view's CURRENT version, or None when it was never materialized."""
    pointer = view_dir(offline_dir, view) / "CURRENT"
    if not pointer.is_file():
        return None
    version = pointer.read_text().strip()
    data = json.loads((view_dir(offline_dir, view) / "versions" / version / MANIFEST).read_text())
    return Manifest(**data)


def timeline_glob(offline_dir: Path, view: str) -> str:
    """The parquet glob of the view's CURRENT timeline; a FeatureStoreError saying what to run if none."""
    manifest = current_manifest(offline_dir, view)
    if manifest is None:
        raise FeatureStoreError(f"feature view '{view}' has no timeline yet: run `hydraops features materialize`")
    return str(view_dir(offline_dir, view) / "versions" / manifest.version / "**" / "*.parquet")


def staging_dir(offline_dir: Path, view: str) -> Path:
    root = view_dir(offline_dir, view)
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".staging-", dir=root))


def publish(offline_dir: Path, staging: Path, manifest: Manifest) -> None:
    """Move a validated staging folder into place as ``manifest.version`` and make it CURRENT."""
    (staging / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2))
    root = view_dir(offline_dir, manifest.view)
    target = root / "versions" / manifest.version
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():  # the same version again (another date range): swap it out whole
        retired = Path(tempfile.mkdtemp(prefix=".retired-", dir=root))
        os.replace(target, retired / "old")
        os.replace(staging, target)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staging, target)
    pointer = root / ".CURRENT.tmp"
    pointer.write_text(manifest.version)
    os.replace(pointer, root / "CURRENT")


def discard(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)


def plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
