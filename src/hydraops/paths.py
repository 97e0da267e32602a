"""Paths hydraops writes stay under their declared root: one check, used by every writer.

    target = resolve_under(repo.offline_dir, view, what=f"feature view '{view}'")

The path (relative ones are taken from the root) is resolved, ``..`` collapsed and symlinks followed, and must
lie inside the root; otherwise the error names what was being written and both paths.
"""

from __future__ import annotations

import os
from pathlib import Path

from hydraops.errors import FeatureStoreError, HydraopsError


def resolve_under(root: str | os.PathLike, path: str | os.PathLike, *, what: str, error: type[HydraopsError] = FeatureStoreError) -> Path:
    """``root / path`` resolved; ``error`` unless it lies strictly inside ``root`` (resolved too).

    An absolute ``path`` is taken as is (``Path`` semantics), so it is refused unless it lies under ``root``.
    """
    base = Path(root).resolve()
    target = (base / path).resolve()
    if base not in target.parents:
        raise error(f"{what}: path {target} is outside {base}; refusing to write there")
    return target


def lexically_under(root: str | os.PathLike, path: str | os.PathLike) -> bool:
    """Whether ``path`` lies inside ``root`` once both are absolute with ``..`` collapsed, symlinks kept
    (for files read: a data folder may link to files kept elsewhere, e.g. a DVC cache)."""
    return Path(os.path.abspath(root)) in Path(os.path.abspath(path)).parents
