"""The offline store: one folder per view, one immutable folder per materialization, a CURRENT pointer.

    <offline_dir>/<view>/versions/<folder>/timeline.parquet            a row view's timeline, or
    <offline_dir>/<view>/versions/<folder>/events.parquet              an aggregation view's events
    <offline_dir>/<view>/versions/<folder>/manifest.json               what was computed, from what, checks,
                                                                        and the size and sha256 of every file
    <offline_dir>/<view>/CURRENT                                        the folder readers use
    <offline_dir>/<view>/LOCK                                           held while the view is materialized

``<folder>`` is ``<version>-<UTC time>-<random>``: the version (digest of the definition and of the source
bytes) made unique, so no folder is ever written twice. A materialization writes a ``.staging-*`` folder,
validates it, records its files in the manifest, renames it into ``versions/`` (no reader looks there by
name), and then switches CURRENT with one ``os.replace``: the only step readers see. A crash at any point
leaves CURRENT on a complete folder. The next materialization of the view (under LOCK) removes
``.staging-*``/``.retired-*`` leftovers and all but the ``KEEP`` newest folders CURRENT does not name; those
kept can be made CURRENT again without recomputing (a reverted source, another date range).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hydraops.digests import file_sha256
from hydraops.errors import FeatureStoreError

MANIFEST = "manifest.json"
#: What a folder holds: a row view's timeline (values by valid-from instant), or an aggregation view's
#: events (aggregated where asked for: hydraops.features.aggregates).
TIMELINE, EVENTS = "timeline", "events"
TIMELINE_FILE, EVENTS_FILE = "timeline.parquet", "events.parquet"
#: Folders kept besides CURRENT: a reader that resolved CURRENT just before a switch can finish, and a
#: materialization asking for one of them again only moves the pointer.
KEEP = 2
_LEFTOVERS = (".staging-", ".retired-", ".CURRENT.")


@dataclass(frozen=True)
class Manifest:
    """What a version of a view's timeline holds and how it was made."""

    view: str
    version: str
    join_keys: list[str]
    features: list[str]
    ttl_us: int | None
    tz_aware: bool | None  # None: a static source, no timestamps
    start: str | None
    end: str | None
    rows: int
    entities: int
    created_at: str
    last_change_us: int | None = None  # the timeline's last change, before any start/end bound
    sources: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    folder: str = ""  # the folder under versions/ that holds this materialization
    files: dict[str, list] = field(default_factory=dict)  # path in the folder → [size, sha256]
    layout: str = TIMELINE  # TIMELINE or EVENTS
    late_us: int | None = None  # EVENTS: the lateness bound of the events (hydraops.features.aggregates)
    span_us: list[int] | None = None  # EVENTS: the first and last event time (None: no events)
    scales: dict[str, int | str | None] = field(default_factory=dict)  # EVENTS: per aggregation summing, how its sums are made

    def sum_scales(self) -> dict[int, int | str | None]:
        """``scales`` by aggregation index (JSON keeps its keys as strings)."""
        return {int(i): scale for i, scale in self.scales.items()}


def view_dir(offline_dir: Path, view: str) -> Path:
    return Path(offline_dir) / view


def folder_path(offline_dir: Path, manifest: Manifest) -> Path:
    return view_dir(offline_dir, manifest.view) / "versions" / manifest.folder


def current_manifest(offline_dir: Path, view: str) -> Manifest | None:
    """The manifest of the view's CURRENT folder; None when it was never materialized; a FeatureStoreError
    when CURRENT names a folder that is gone or unreadable."""
    pointer = view_dir(offline_dir, view) / "CURRENT"
    if not pointer.is_file():
        return None
    return read_manifest(pointer.parent / "versions" / pointer.read_text().strip(), view)


def read_manifest(folder: Path, view: str) -> Manifest:
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text())
        return Manifest(**{**data, "folder": folder.name})
    except (OSError, ValueError, TypeError) as error:
        raise FeatureStoreError(
            f"feature view '{view}': {path} cannot be read ({type(error).__name__}: {error}); `hydraops features materialize` rebuilds the view",
            path=str(path),
        ) from error


def timeline_glob(offline_dir: Path, view: str) -> str:
    """The parquet glob of the view's CURRENT timeline, after checking that its files have the sizes the
    manifest recorded (cheap; ``features verify`` checks the digests); a FeatureStoreError saying what to run."""
    manifest = current_manifest(offline_dir, view)
    if manifest is None:
        raise FeatureStoreError(f"feature view '{view}' has no timeline yet: run `hydraops features materialize`")
    return folder_glob(offline_dir, manifest)


def folder_glob(offline_dir: Path, manifest: Manifest) -> str:
    """The parquet glob of one materialization, its file sizes checked first."""
    if problems := verify(offline_dir, manifest, digests=False):
        raise FeatureStoreError(
            f"feature view '{manifest.view}': the offline store does not match its manifest: {problems[0]}; "
            "`hydraops features verify` lists every difference, `hydraops features materialize force=true` rebuilds it"
        )
    return str(folder_path(offline_dir, manifest) / "*.parquet")


def verify(offline_dir: Path, manifest: Manifest, *, digests: bool = True) -> list[str]:
    """What differs between a folder and its manifest: missing, resized or unexpected parquet files and,
    with ``digests``, files whose sha256 changed. Empty when the folder is intact."""
    root = folder_path(offline_dir, manifest)
    if not manifest.files:
        return [f"{root / MANIFEST} records no file digests (written by an older hydraops)"]
    found = _parquet_sizes(root)
    problems = []
    for name, (size, digest) in manifest.files.items():
        if name not in found:
            problems.append(f"file {root / name} is missing")
        elif found[name] != size:
            problems.append(f"file {root / name} has {found[name]} bytes, the manifest recorded {size}")
        elif digests and file_sha256(root / name) != digest:
            problems.append(f"file {root / name} does not match its sha256 in the manifest")
    problems += [f"file {root / name} is not in the manifest" for name in found if name not in manifest.files]
    return problems


def staging_dir(offline_dir: Path, view: str) -> Path:
    root = view_dir(offline_dir, view)
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".staging-", dir=root))


def publish(offline_dir: Path, staging: Path, manifest: Manifest) -> Manifest:
    """Record the staging folder's files in ``manifest``, move the folder into ``versions/`` under a new
    unique name and make it CURRENT; returns the manifest as written."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    files = {name: [size, file_sha256(staging / name)] for name, size in sorted(_parquet_sizes(staging).items())}
    manifest = replace(manifest, folder=f"{manifest.version}-{stamp}-{uuid.uuid4().hex[:8]}", files=files)
    _write_durably(staging / MANIFEST, json.dumps(asdict(manifest), indent=2))
    target = folder_path(offline_dir, manifest)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging, target)  # a new name: nothing reads it until CURRENT names it
    switch(offline_dir, manifest.view, manifest.folder)
    return manifest


def switch(offline_dir: Path, view: str, folder: str) -> None:
    """Make ``versions/<folder>`` the view's CURRENT: one atomic rename of the pointer file."""
    root = view_dir(offline_dir, view)
    pointer = root / f".CURRENT.{uuid.uuid4().hex[:8]}.tmp"
    _write_durably(pointer, folder)
    os.replace(pointer, root / "CURRENT")
    _sync_dir(root)


def previous(offline_dir: Path, view: str) -> list[Manifest]:
    """The readable folders CURRENT does not name, newest first."""
    versions = view_dir(offline_dir, view) / "versions"
    current = _pointer(offline_dir, view)
    found = []
    for folder in versions.iterdir() if versions.is_dir() else ():
        if folder.name != current and (folder / MANIFEST).is_file():
            try:
                found.append(read_manifest(folder, view))
            except FeatureStoreError:
                continue
    return sorted(found, key=lambda m: m.created_at, reverse=True)


def clean(offline_dir: Path, view: str, keep: int = KEEP) -> list[str]:
    """Remove what crashed or superseded materializations left: staging and retired folders, pointer
    temporaries, and the folders CURRENT does not name beyond the ``keep`` newest. Call it under ``lock``.
    Returns the names removed."""
    root = view_dir(offline_dir, view)
    if not root.is_dir():
        return []
    doomed = [path for path in root.iterdir() if path.name.startswith(_LEFTOVERS)]
    versions = root / "versions"
    if versions.is_dir():
        kept = {m.folder for m in previous(offline_dir, view)[:keep]} | {_pointer(offline_dir, view)}
        doomed += [path for path in versions.iterdir() if path.name not in kept]
    for path in doomed:
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    return [path.name for path in doomed]


@contextmanager
def lock(offline_dir: Path, view: str) -> Iterator[None]:
    """Hold the view's LOCK (an flock: the kernel releases it when the process dies, even by SIGKILL)."""
    import fcntl

    root = view_dir(offline_dir, view)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "LOCK", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def discard(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)


def plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _pointer(offline_dir: Path, view: str) -> str | None:
    pointer = view_dir(offline_dir, view) / "CURRENT"
    return pointer.read_text().strip() if pointer.is_file() else None


def _parquet_sizes(root: Path) -> dict[str, int]:
    """Every parquet file under ``root`` (its path relative to ``root``) with its size; one walk."""
    sizes = {}
    for folder, _, names in os.walk(root):
        relative = os.path.relpath(folder, root)
        for name in names:
            if name.endswith(".parquet"):
                path = os.path.join(folder, name)
                sizes[name if relative == "." else os.path.join(relative, name)] = os.stat(path).st_size
    return sizes


def _write_durably(path: Path, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _sync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
