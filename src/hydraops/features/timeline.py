"""A row view's timeline in DuckDB SQL: per entity, each instant its value changes, and the value from then on.

Timeline columns: the join keys, ``__valid_from`` and ``__feature_ts`` (epoch microseconds, UTC), then
one column per feature. The value at any t is the timeline row with the greatest ``__valid_from`` ≤ t
(see docs/concepts/feature-store.md for the rules this encodes).
"""

from __future__ import annotations

from hydraops.config.schemas import FeatureViewSpec, SourceSpec
from hydraops.features.sources import SourceInfo, quote

#: The instant rows of a static source (no timestamp column) are valid from: before any request.
ALWAYS_US = -(2**62)


def events_sql(source: SourceSpec, info: SourceInfo, keys: list[str], columns: list[str]) -> str:
    """Source rows with times in epoch µs: ``__ts`` (event), ``__created`` and ``__avail`` (visible from)."""
    if source.timestamp is None:  # a static source: every row is valid at every instant
        selected = ", ".join([*(quote(k) for k in keys), *columns])
        return f"SELECT {selected}, {ALWAYS_US} AS __ts, {ALWAYS_US} AS __created, {ALWAYS_US} AS __avail, __seq FROM {quote(info.name)}"
    ts = f"epoch_us({quote(source.timestamp)})"
    # A row with no created timestamp is known from its event time.
    created = f"coalesce(epoch_us({quote(source.created_timestamp)}), {ts})" if source.created_timestamp else ts
    selected = ", ".join([*(quote(k) for k in keys), *columns])
    return (
        f"SELECT {selected}, {ts} AS __ts, {created} AS __created, greatest({ts}, {created}) AS __avail, __seq FROM {quote(info.name)} WHERE {ts} IS NOT NULL"
    )


def row_timeline_sql(view: FeatureViewSpec, source: SourceSpec, info: SourceInfo, keys: list[str]) -> str:
    """Row-level view: at each instant a row becomes visible, the visible row with the greatest
    (event ts, created ts, source order) is current. A static source's rows are valid from ALWAYS_US, with
    no feature timestamp (nothing expires)."""
    names = list(view.features)
    expressions = [f"({view.features[n].expr}) AS {quote(n)}" for n in names]
    key_list = ", ".join(quote(k) for k in keys)
    packed = ", ".join([*(f"{literal_key(n)}: {quote(n)}" for n in names), "'__feature_ts': __ts"])
    current = (
        f"arg_max({{{packed}}}, {{'ts': __ts, 'created': __created, 'seq': __seq}}) OVER (PARTITION BY {key_list} ORDER BY __avail RANGE UNBOUNDED PRECEDING)"
    )
    unpacked = ", ".join([f"__row.{quote(n)} AS {quote(n)}" for n in names])
    return f"""
        WITH events AS ({events_sql(source, info, keys, expressions)}),
        current AS (SELECT {key_list}, __avail, {current} AS __row FROM events)
        SELECT DISTINCT ON ({key_list}, __avail)
            {key_list}, __avail AS __valid_from, {"NULL::BIGINT" if source.timestamp is None else "__row.__feature_ts"} AS __feature_ts, {unpacked}
        FROM current
    """


def literal_key(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"
