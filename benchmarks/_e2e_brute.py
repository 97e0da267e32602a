"""The brute-force query: every feature computed directly at the label instants, from the raw parquet.

Written from docs/concepts/feature-store.md ("The value of a feature at time t"), not from hydraops:

- a source row is visible at t when event ts <= t and (created is null or created <= t), i.e. from
  ``__visible`` = the later of the two;
- row view: the visible row with the greatest (event ts, created ts, source order), found with an ASOF
  join on ``__visible`` over a running ``arg_max``; null when t - its event ts > TTL;
- aggregation view: labels JOIN events ON key AND t - w < ts <= t AND visible, GROUP BY label row, one
  ``FILTER`` per window (the join is on the largest window; a bucket of that width is an extra equality so
  DuckDB hash-joins on (key, bucket) instead of comparing every event of a key with every label);
  sum/count 0 over no rows, others null; every feature null when the entity has no visible row, or when
  t - (its latest visible event ts, any age) > TTL.
"""

from __future__ import annotations

from pathlib import Path

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
FUNCS = {"sum": "sum({c})", "count": "count({c})", "mean": "avg({c})", "min": "min({c})", "max": "max({c})", "std": "stddev_samp({c})"}


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def window_us(text: str) -> int:
    return int(text[:-1]) * UNITS[text[-1]] * 1_000_000


def feature_names(view: dict) -> list[str]:
    if "features" in view:
        return list(view["features"])
    return [f"{a['column']}_{f}_{w}" for a in view["aggregations"] for f in a["agg"] for w in a["windows"]]


def _source(view: dict, folder: Path) -> str:
    """The view's rows with ``__ts``/``__created``/``__visible`` in epoch µs and ``__ord`` (source order)."""
    ts = f"epoch_us({q(view['timestamp'])})"
    created = f"coalesce(epoch_us({q(view['created'])}), {ts})" if view.get("created") else ts
    path = lit(str(folder / view["path"]))
    return (
        f"SELECT *, {ts} AS __ts, {created} AS __created, CASE WHEN {created} > {ts} THEN {created} ELSE {ts} END AS __visible, "
        f"row_number() OVER (ORDER BY filename, file_row_number) AS __ord "
        f"FROM read_parquet({path}, filename = true, file_row_number = true) WHERE {q(view['timestamp'])} IS NOT NULL"
    )


def _expired(view: dict, latest_ts: str) -> str:
    ttl = view.get("ttl_s")
    return f"{latest_ts} IS NULL" + (f" OR l.__t - {latest_ts} > {ttl * 1_000_000}" if ttl is not None else "")


def _row_view(i: int, view: dict, keys: list[str]) -> str:
    """``v{i}``: per label row, the view's features (ASOF over a running arg_max)."""
    names = view["features"]
    packed = ", ".join(f"{q(n)} := {q(n)}" for n in names) + ", __ts := __ts"
    part = ", ".join(q(k) for k in keys)
    on = " AND ".join(f"l.{q(k)} = r.{q(k)}" for k in keys)
    values = ", ".join(f"CASE WHEN {_expired(view, 'r.__v.__ts')} THEN NULL ELSE r.__v.{q(n)} END AS {q(n)}" for n in names)
    return (
        f"v{i}_latest AS (SELECT {part}, __visible, arg_max(struct_pack({packed}), (__ts, __created, __ord)) "
        f"OVER (PARTITION BY {part} ORDER BY __visible RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS __v FROM s{i}),\n"
        f"v{i} AS (SELECT l.__row, {values} FROM labels l ASOF LEFT JOIN v{i}_latest r ON {on} AND l.__t >= r.__visible)"
    )


def _aggregation_view(i: int, view: dict, keys: list[str]) -> str:
    """``v{i}``: per label row, every window aggregate (one join on the largest window, FILTER per window)."""
    width = max(window_us(w) for a in view["aggregations"] for w in a["windows"])
    part = ", ".join(q(k) for k in keys)
    on_keys = " AND ".join(f"l.{q(k)} = e.{q(k)}" for k in keys)
    aggregates, values = [], []
    for a in view["aggregations"]:
        for func in a["agg"]:
            for w in a["windows"]:
                name = f"{a['column']}_{func}_{w}"
                inside = f"e.__ts > l.__t - {window_us(w)}"
                aggregates.append(f"{FUNCS[func].format(c='e.' + q(a['column']))} FILTER (WHERE {inside}) AS {q(name)}")
                # sum over an integer column is a HUGEINT in DuckDB: compared as float64 anyway
                value = f"coalesce(j.{q(name)}, 0)" if func in ("sum", "count") else f"j.{q(name)}"
                values.append(f"CASE WHEN {_expired(view, 'f.__latest')} THEN NULL ELSE {value} END AS {q(name)}")
    on = " AND ".join(f"l.{q(k)} = f.{q(k)}" for k in keys)
    return (
        f"v{i}_events AS (SELECT *, __ts // {width} AS __bucket FROM s{i}),\n"
        f"v{i}_labels AS (SELECT *, unnest([__t // {width}, __t // {width} - 1]) AS __bucket FROM labels),\n"
        f"v{i}_agg AS (SELECT l.__row, {', '.join(aggregates)} FROM v{i}_labels l JOIN v{i}_events e "
        f"ON {on_keys} AND l.__bucket = e.__bucket AND e.__ts > l.__t - {width} AND e.__ts <= l.__t AND e.__visible <= l.__t "
        f"GROUP BY l.__row),\n"
        f"v{i}_latest AS (SELECT {part}, __visible, max(__ts) OVER (PARTITION BY {part} ORDER BY __visible "
        f"RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS __latest FROM s{i}),\n"
        f"v{i} AS (SELECT l.__row, {', '.join(values)} FROM labels l ASOF LEFT JOIN v{i}_latest f ON {on} AND l.__t >= f.__visible "
        f"LEFT JOIN v{i}_agg j ON j.__row = l.__row)"
    )


def brute_force_sql(case: dict, folder: Path) -> str:
    """One SELECT: the labels in file order, then every view's features (the training table)."""
    labels = case["labels"]
    keys = labels["keys"]
    path = lit(str(folder / labels["path"]))
    ctes = [
        f"labels AS (SELECT *, epoch_us({q(labels['timestamp'])}) AS __t, row_number() OVER (ORDER BY filename, file_row_number) AS __row "
        f"FROM read_parquet({path}, filename = true, file_row_number = true))"
    ]
    joins, selected = [], [f"l.{q(c)}" for c in [*keys, labels["timestamp"], labels["target"]]]
    for i, view in enumerate(case["views"]):
        ctes.append(f"s{i} AS ({_source(view, folder)})")
        ctes.append(_row_view(i, view, keys) if "features" in view else _aggregation_view(i, view, keys))
        joins.append(f"LEFT JOIN v{i} ON v{i}.__row = l.__row")
        selected += [f"v{i}.{q(n)}" for n in feature_names(view)]
    sep = ",\n"
    return f"WITH {sep.join(ctes)}\nSELECT {', '.join(selected)} FROM labels l {' '.join(joins)} ORDER BY l.__row"
