"""What the feature store works on: the features and data specs, and where the offline store lives."""

from __future__ import annotations

import glob
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hydraops.config.durations import parse_duration
from hydraops.config.schemas import DataSpec, Dtype, FeaturesSpec, FeatureViewSpec, ProjectSpec
from hydraops.digests import file_sha256
from hydraops.errors import DataError, FeatureStoreError
from hydraops.paths import lexically_under, resolve_under

#: The offline store's format, part of every view version: a new format recomputes every view once.
STORE_FORMAT = 4


@dataclass(frozen=True)
class FeatureRepo:
    """The feature store of one project: declarations plus the offline store's folder."""

    features: FeaturesSpec
    data: DataSpec
    offline_dir: Path
    memory_limit: str | None = "1GB"  # of each DuckDB connection, before it spills (stack.duckdb_memory_limit)
    #: What checking each source found, by what it was checked on (hydraops.features.validation): a source
    #: several views (or the labels) read is checked once while its files and declaration stay the same.
    checked: dict = field(default_factory=dict, compare=False, repr=False)
    #: What its feature work shares while the repo lives: the confined DuckDB database
    #: (hydraops.features.sources.database).
    shared: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_spec(cls, spec: ProjectSpec) -> FeatureRepo:
        return cls(spec.features, spec.data, Path(spec.paths.offline_store_dir), spec.stack.duckdb_memory_limit)

    def view(self, name: str) -> FeatureViewSpec:
        """A declared view whose store folder stays inside the offline store (else a FeatureStoreError)."""
        if name not in self.features.views:
            known = ", ".join(self.features.views) or "(none declared)"
            raise FeatureStoreError(f"unknown feature view '{name}'; declared views: {known}", key=f"features.views.{name}")
        self.view_dir(name)
        return self.features.views[name]

    def view_dir(self, name: str) -> Path:
        """The view's folder in the offline store, resolved; refused when the name leads outside it."""
        return resolve_under(self.offline_dir, name, what=f"feature view '{name}' (features.views.{name})")

    def join_keys(self, view: str) -> list[str]:
        return list(self.features.entities[self.view(view).entity].join_keys)

    def source_files(self, source: str) -> list[str]:
        """The files a file source reads now, in name order; a DataError naming the source when none match."""
        spec = self.data.sources[source]
        pattern = os.path.join(self.data.dir, spec.path or "")
        files = sorted(glob.glob(pattern))
        if not files:
            raise DataError(f"source '{source}': no file matches {pattern} (data.sources.{source}.path)", key=f"data.sources.{source}.path", path=pattern)
        outside = [path for path in files if not lexically_under(self.data.dir, path)]
        if outside:
            raise DataError(
                f"source '{source}': {outside[0]} is outside data.dir {os.path.abspath(self.data.dir)} "
                f"(data.sources.{source}.path); sources are read from under data.dir only",
                key=f"data.sources.{source}.path",
                path=outside[0],
            )
        return files

    def source_digests(self, source: str) -> dict[str, str]:
        """sha256 of each file ``source`` reads, by path: a query source's are those of the sources it names."""
        return {path: file_digest(path) for name in file_sources(self.data, source) for path in self.source_files(name)}

    def source_state(self, source: str) -> tuple:
        """What a source's rows depend on: the sources' declarations and the identity, size and mtime of each
        file it reads."""
        files = [(path, os.stat(path)) for name in file_sources(self.data, source) for path in self.source_files(name)]
        return repr(self.data.sources), tuple((path, s.st_ino, s.st_size, s.st_mtime_ns) for path, s in files)

    def view_sources(self, view: str) -> list[str]:
        """The file sources a view reads, following query sources to the sources they name."""
        return file_sources(self.data, self.view(view).source)

    def version(self, view: str) -> str:
        """Digest of the view's definition and of the bytes of every source file it reads."""
        spec = self.view(view)
        definition = {
            "store": STORE_FORMAT,
            "view": asdict(spec),
            "join_keys": self.join_keys(view),
            "sources": {name: asdict(self.data.sources[name]) for name in [spec.source, *self.view_sources(view)]},
        }
        files = self.source_digests(spec.source)
        payload = json.dumps({"definition": definition, "files": files}, sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def ttl_us(view: FeatureViewSpec) -> int | None:
    """The view's TTL in microseconds (None: never expires)."""
    return None if view.ttl is None else to_us(view.ttl)


def to_us(duration: str) -> int:
    delta = parse_duration(duration)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def key_kinds(features: FeaturesSpec, data: DataSpec) -> dict[str, str]:
    """Join key → "integer" or "string", from the dtype the views' sources declare for it (int64; string or
    category); keys no source declares are left out."""
    kinds: dict[str, str] = {}
    for view in features.views.values():
        source = data.sources.get(view.source)
        for key in features.entities[view.entity].join_keys:
            declared = source.columns.get(key) if source is not None else None
            kind = None if declared is None else {Dtype.int64: "integer", Dtype.string: "string", Dtype.category: "string"}.get(declared.dtype)
            if kind is not None:
                kinds.setdefault(key, kind)
    return kinds


def file_digest(path: str) -> str:
    """sha256 of a file's bytes, cached by (size, mtime) so unchanged files are not re-read."""
    stat = os.stat(path)
    key = (stat.st_size, stat.st_mtime_ns)
    cached = _DIGESTS.get(path)
    if cached and cached[0] == key:
        return cached[1]
    _DIGESTS[path] = (key, file_sha256(path))
    return _DIGESTS[path][1]


_DIGESTS: dict[str, tuple[tuple[int, int], str]] = {}


def file_sources(data: DataSpec, source: str, seen: frozenset[str] = frozenset()) -> list[str]:
    """The file sources ``source`` reads: itself, or those its query names (followed through queries)."""
    if source not in data.sources:
        raise FeatureStoreError(f"unknown source '{source}'; declared: {', '.join(data.sources)}")
    spec = data.sources[source]
    if spec.query is None:
        return [source]
    if source in seen:
        raise FeatureStoreError(f"source '{source}' refers to itself through its query")
    named = [name for name in data.sources if name != source and mentions(spec.query, name)]
    return sorted({file for name in named for file in file_sources(data, name, seen | {source})})


def mentions(query: str, name: str) -> bool:
    import re

    return re.search(rf"\b{re.escape(name)}\b", query) is not None
