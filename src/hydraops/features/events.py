"""An aggregation view's events as the offline store keeps them, and what its manifest records of them.

Events: one row per source row, with the join keys, ``__ts``, ``__avail`` (visible from), ``__seq`` (source
order) and ``__v<i>`` (the value aggregation ``i`` counts, null where its ``where`` is not true). Their
summary (:class:`EventsSummary`) is what a read plans from without reading them
(:mod:`hydraops.features.aggregates`): the lateness bound, the time span, how sums are summed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hydraops.config.schemas import AggFunc, FeatureViewSpec, SourceSpec
from hydraops.features.repo import to_us
from hydraops.features.sources import SourceInfo, quote
from hydraops.features.timeline import events_sql

#: The share of rows the lateness bound covers; the rest are joined as very late rows.
_ON_TIME = 0.99
#: Bits a fixed-point sum may use: HUGEINT holds magnitudes below 2^127.
_SUM_BITS = 126
#: Types parquet lacks (DuckDB writes them as DOUBLE): cast so, the summary read from the source fits the stored events.
_STORED_AS_DOUBLE = ("HUGEINT", "UHUGEINT")
_EXACT = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "DECIMAL")


def _scale(smallest: float | None, largest: float | None, rows: int) -> int | None:
    """The k making every value of magnitude in [smallest, largest] times 2^k an integer, with ``rows`` of
    them summing below 2^126; None when there is none (or the values are not finite, or subnormal)."""
    if largest is None or largest == 0:
        return 0  # every value null or zero
    if not math.isfinite(largest) or smallest < 2.0**-1022:
        return None
    low, high = math.frexp(smallest)[1] - 1, math.frexp(largest)[1] - 1  # exponents: 2^e <= |v| < 2^(e+1)
    k = 52 - low  # the value's last mantissa bit is 2^(e - 52)
    fits = high + 1 + k + max(rows, 1).bit_length() <= _SUM_BITS
    return k if fits and -1022 <= k <= 1023 else None


def last_change_sql(view: FeatureViewSpec, events: str) -> str:
    """SQL for the last instant any aggregate of the view can change: an event becoming visible or leaving
    its longest window."""
    return f"SELECT {last_change_aggregate(view)} FROM {events}"


def last_change_aggregate(view: FeatureViewSpec) -> str:
    """:func:`last_change_sql`'s aggregate expression, over a relation of events."""
    longest = max(to_us(w) for a in view.aggregations for w in a.windows)
    return f"greatest(max(__avail), max(__ts) + {longest})"


def view_events_sql(view: FeatureViewSpec, source: SourceSpec, info: SourceInfo, keys: list[str], end_us: int | None = None) -> str:
    """The view's source rows as events: keys, ``__ts``, ``__avail``, ``__seq`` and ``__v<i>`` per
    aggregation; rows visible only after ``end_us`` are left out (they count for no instant up to it)."""
    values = []
    for i, aggregation in enumerate(view.aggregations):
        column = quote(aggregation.column) + ("::DOUBLE" if info.columns.get(aggregation.column) in _STORED_AS_DOUBLE else "")
        values.append(f"CASE WHEN ({aggregation.where}) THEN {column} END AS __v{i}" if aggregation.where else f"{column} AS __v{i}")
    key_list = ", ".join(quote(k) for k in keys)
    bounded = "" if end_us is None else f" WHERE __avail <= {end_us}"
    return f"""
        SELECT {key_list}, __ts, __avail, __seq, {", ".join(f"__v{i}" for i in range(len(view.aggregations)))}
        FROM ({events_sql(source, info, keys, values)}){bounded}
    """


@dataclass(frozen=True)
class EventsSummary:
    """What a view's stored events' manifest records of them, so consumers need not read them to plan."""

    rows: int
    entities: int
    also: object  # the value of summarize's ``also`` aggregate
    late_us: int  # the lateness bound
    span_us: list[int] | None  # [first, last] event time; None: no events
    #: Per aggregation that sums, how its joined rows are summed: ``"int"`` (integers, decimals: ``sum``), ``k`` (floats:
    #: each value × 2^k is an integer and ``rows`` of them fit a HUGEINT: exact) or None (summed in ascending order).
    scales: dict[int, int | str | None]


def summary_sql(view: FeatureViewSpec, keys: list[str], events: str, floats: list[int], also: str = "NULL") -> str:
    """SQL: one pass over stored events for their manifest: rows, entities, the aggregate ``also``, the lateness bound
    (99th percentile of visible-from − event time), the time span, per aggregation of ``floats`` its magnitudes."""
    key_list = ", ".join(quote(k) for k in keys)
    magnitudes = [f"min(abs(__v{i})) FILTER (WHERE __v{i} <> 0), max(abs(__v{i}))" for i in floats]
    lateness = f"coalesce(quantile_disc(__avail - __ts, {_ON_TIME}), 0)"
    return f"SELECT {', '.join(['count(*)', f'count(DISTINCT ({key_list}))', also, lateness, 'min(__ts)', 'max(__ts)', *magnitudes])} FROM {events}"


def summarize(con, view: FeatureViewSpec, keys: list[str], events: str, also: str = "NULL") -> EventsSummary:
    """:func:`summary_sql` run on ``events`` (after a DESCRIBE when the view sums)."""
    summed = [i for i, a in enumerate(view.aggregations) if {AggFunc.sum, AggFunc.mean} & set(a.agg)]
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {events})").fetchall()) if summed else {}
    floats = [i for i in summed if types[f"__v{i}"] in ("DOUBLE", "FLOAT")]
    rows, entities, also_value, late_us, first, last, *found = con.execute(summary_sql(view, keys, events, floats, also)).fetchall()[0]
    scales: dict[int, int | str | None] = {i: "int" for i in summed if i not in floats and types[f"__v{i}"].startswith(_EXACT)}
    for n, i in enumerate(floats):
        scales[i] = _scale(found[2 * n], found[2 * n + 1], rows)
    return EventsSummary(rows, entities, also_value, int(late_us), None if first is None else [first, last], scales)
