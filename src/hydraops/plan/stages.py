"""The stage planners: each turns the typed spec into the Actions of its stage.

A stage joins this table when its engine lands, so ``plan`` never shows what nothing can apply.
"""

from __future__ import annotations

import glob
import hashlib
import os
from collections.abc import Callable

from hydraops.config.schemas import ProjectSpec
from hydraops.plan.model import Action, Effect

StagePlanner = Callable[[ProjectSpec], list[Action]]


def plan_data(spec: ProjectSpec) -> list[Action]:
    """One check per declared source: which files it reads now, and what its declared schema is."""
    actions = []
    for name, source in spec.data.sources.items():
        columns = f"{len(source.columns)} declared columns" if source.columns else "no declared columns"
        if source.query is not None:
            actions.append(Action("data", f"source {name}", Effect.check, ("duckdb query",), (), (columns,)))
            continue
        pattern = os.path.join(spec.data.dir, source.path or "")
        files = sorted(glob.glob(pattern))
        if files:
            size = sum(os.path.getsize(path) for path in files)
            found = f"{len(files)} file{'s' if len(files) != 1 else ''}, {size / 1e6:.1f} MB"
        else:
            found = "no file matches yet: generate or copy the data first"
        details = (found, columns) + ((f"timestamp: {source.timestamp}",) if source.timestamp else ())
        actions.append(Action("data", f"source {name}", Effect.check, (pattern,), (), details))
    return actions


#: Stage name → planner, in lifecycle order.
STAGES: dict[str, StagePlanner] = {"data": plan_data}


def file_digest(paths: list[str]) -> str:
    """sha256 over the bytes of the given files, in order (the data digest lineage records)."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
