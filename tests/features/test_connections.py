"""Feature-store DuckDB connections: long statements report their progress; memory is bounded as declared."""

from __future__ import annotations

import io

from hydraops.features.progress import execute
from hydraops.features.sources import connect


def test_a_long_statement_reports_from_zero_to_done() -> None:
    con = connect()
    seen: list[tuple[str, float]] = []
    [(total,)] = execute(
        con, "SELECT sum(a.range * b.range) FROM range(20000) a, range(5000) b", what="join", report=lambda w, p: seen.append((w, p))
    ).fetchall()
    assert total > 0
    assert seen[0] == ("join", 0.0) and seen[-1] == ("join", 100.0)
    percents = [p for _, p in seen]
    assert percents == sorted(percents) and all(0 <= p <= 100 for p in percents)


def test_without_a_report_it_is_a_plain_execute() -> None:
    assert execute(connect(), "SELECT 42", what="x").fetchall() == [(42,)]


def test_the_cli_bar_shows_what_runs_on_a_terminal_only() -> None:
    from rich.console import Console

    from hydraops.cli.output import progress, reporter

    for terminal in (True, False):
        out = io.StringIO()
        with progress(Console(file=out, force_terminal=terminal, width=100)) as bar:
            report = reporter(bar)
            report("materialize transactions: events.parquet", 40.0)
            bar.refresh()
        assert ("materialize transactions" in out.getvalue()) is terminal


def test_feature_store_connections_hold_at_most_the_declared_memory() -> None:
    import pytest

    from hydraops.errors import DataError

    assert connect("512MB").execute("SELECT current_setting('memory_limit')").fetchone()[0] == "488.2 MiB"
    with pytest.raises(DataError, match=r"stack.duckdb_memory_limit: 'lots' is not a size DuckDB takes"):
        connect("lots")


def test_a_database_that_cannot_open_while_the_views_are_planned_fails_the_materialization_naming_why(tmp_path) -> None:
    """The shared database opens on a thread during planning; its error is raised by the work that needs it."""
    import pandas as pd
    import pytest

    from hydraops.config.schemas.data import DataSpec, EntitySpec, FeatureSpec, FeaturesSpec, FeatureViewSpec, FileFormat, SourceSpec
    from hydraops.errors import DataError
    from hydraops.features import FeatureRepo, materialize

    (tmp_path / "data").mkdir()
    pd.DataFrame({"user_id": [1], "ts": pd.to_datetime(["2026-01-01"], utc=True), "x": [1.0]}).to_parquet(tmp_path / "data" / "e.parquet")
    repo = FeatureRepo(
        features=FeaturesSpec(
            entities={"user": EntitySpec(join_keys=["user_id"])},
            views={"v": FeatureViewSpec(entity="user", source="e", features={"x": FeatureSpec(expr="x")})},
        ),
        data=DataSpec(format=FileFormat.parquet, dir=str(tmp_path / "data"), sources={"e": SourceSpec(path="e.parquet", timestamp="ts")}),
        offline_dir=tmp_path / "offline",
        memory_limit="lots",
    )
    with pytest.raises(DataError, match=r"stack.duckdb_memory_limit: 'lots' is not a size DuckDB takes"):
        materialize(repo)
