"""The data stage: one CheckSource per declared source. Planned, it says which files the source reads now
and what it declares, and checks the sources' schemas against the config (no data row read: planning fails
on a misspelled column); applied, it opens the source in DuckDB (files readable, declared columns there with
their types)."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from hydraops.features.repo import FeatureRepo
from hydraops.plan.model import Action, Effect, Outcome, Result

if TYPE_CHECKING:
    from hydraops.config.schemas import ProjectSpec
    from hydraops.plan.context import RunContext


@dataclass(frozen=True, kw_only=True)
class CheckSource(Action):
    """Read a declared source: its files exist and are readable, its declared columns are there as declared."""

    stage: ClassVar[str] = "data"
    effect: Effect = Effect.check
    source: str
    pattern: str | None = None  # the files it reads: a glob under data.dir
    query: str | None = None  # or a DuckDB query over other sources
    repo: FeatureRepo = field(compare=False, repr=False)

    @property
    def name(self) -> str:
        return f"source {self.source}"

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.pattern,) if self.pattern is not None else ("duckdb query",)


def plan_data(spec: ProjectSpec, ctx: RunContext | None = None, *, earlier: Sequence[Action] = ()) -> list[Action]:
    """One check per declared source: which files it reads now, and what its declared schema is. A DataError
    listing every column the config names that the sources' schemas lack (a source with no file yet, or one
    that cannot be opened, is left to its CheckSource)."""
    from hydraops.features.checks import check_sources, listed

    repo, actions = FeatureRepo.from_spec(spec), []
    problems = check_sources(repo, skip_unreadable=True)
    if problems:
        raise listed(problems)
    for name, source in spec.data.sources.items():
        columns = f"{len(source.columns)} declared columns" if source.columns else "no declared columns"
        if source.query is not None:
            actions.append(CheckSource(source=name, query=source.query, repo=repo, notes=(columns,)))
            continue
        pattern = os.path.join(spec.data.dir, source.path or "")
        files = sorted(glob.glob(pattern))
        if files:
            size = sum(os.path.getsize(path) for path in files)
            found = f"{len(files)} file{'s' if len(files) != 1 else ''}, {size / 1e6:.1f} MB"
        else:
            found = "no file matches yet: generate or copy the data first"
        notes = (found, columns) + ((f"timestamp: {source.timestamp}",) if source.timestamp else ())
        actions.append(CheckSource(source=name, pattern=pattern, repo=repo, notes=notes))
    return actions


def check_source(action: CheckSource, ctx: RunContext | None = None) -> Result:
    """Open the source in DuckDB: its files exist and are readable, its declared columns have their types."""
    from hydraops.features.sources import connect, register_source

    info = register_source(connect(action.repo.memory_limit), action.repo, action.source)
    reads = f"{len(action.repo.source_files(action.source))} file(s)" if action.pattern is not None else "its query"
    return Result(action, Outcome.checked, f"{reads}, {len(info.columns)} columns as declared", info)


__all__ = ["CheckSource", "check_source", "plan_data"]
