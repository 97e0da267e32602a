"""A naive, brute-force implementation of "The value of a feature at time t" (docs/concepts/feature-store.md).

Each entity row is answered by looping over every source row and applying the written rules literally.
It is slow on purpose and meant only for the small tables of the tests.

``source`` is the source table **in source order** (files in name order, rows in file order); the
caller concatenates the files. Timestamps are pandas ``Timestamp``s (all aware or all naive).
"""

from __future__ import annotations

import math
import statistics
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from hypothesis import strategies as st

from hydraops.config.durations import parse_duration
from hydraops.config.schemas.data import (
    AggFunc,
    DataSpec,
    EntitySpec,
    FeaturesSpec,
    FeatureViewSpec,
    FileFormat,
    SourceSpec,
)


@dataclass
class Reference:
    """What the contract says: the feature columns (entity rows in order) and the two counts."""

    features: pd.DataFrame
    missing: int = 0
    expired: int = 0
    chosen: list[int | None] = field(default_factory=list)  # row-level: source position used per entity row


def is_null(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _rows(source: pd.DataFrame) -> list[dict[str, Any]]:
    """The source rows as dicts, in source order."""
    return [dict(zip(source.columns, values)) for values in source.itertuples(index=False, name=None)]


def _visible(row: dict[str, Any], t: pd.Timestamp, timestamp: str, created: str | None) -> bool:
    """Event timestamp <= t and, where the source declares one, created timestamp <= t."""
    return row[timestamp] <= t and (created is None or row[created] <= t)


def _rows_of(rows: list[dict[str, Any]], join_keys: list[str], entity_row: dict[str, Any]) -> list[int]:
    key = tuple(entity_row[k] for k in join_keys)
    return [i for i, row in enumerate(rows) if tuple(row[k] for k in join_keys) == key]


def _evaluate(source: pd.DataFrame, view: FeatureViewSpec) -> list[dict[str, Any]]:
    """Each feature expression evaluated on each source row (DuckDB SQL, as the engine does), in source order."""
    frame = source.assign(__pos=range(len(source)))
    selects = ", ".join(f'{spec.expr} AS "{name}"' for name, spec in view.features.items())
    connection = duckdb.connect()
    connection.register("src", frame)
    result = connection.execute(f"SELECT __pos, {selects} FROM src ORDER BY __pos").fetchall()
    connection.close()
    return [dict(zip(view.features, values[1:])) for values in result]


def _passes(source: pd.DataFrame, where: str | None) -> list[bool]:
    """Per source row (in source order): whether ``where`` (DuckDB SQL) is true; all True without one."""
    if where is None:
        return [True] * len(source)
    connection = duckdb.connect()
    connection.register("src", source.assign(__pos=range(len(source))))
    result = connection.execute(f"SELECT ({where}) IS TRUE FROM src ORDER BY __pos").fetchall()
    connection.close()
    return [bool(value) for (value,) in result]


def reference_row_features(
    source: pd.DataFrame,
    view: FeatureViewSpec,
    entity_df: pd.DataFrame,
    *,
    join_keys: list[str],
    timestamp: str,
    created_timestamp: str | None = None,
    timestamp_column: str = "t",
) -> Reference:
    """Row-level view: the features of the visible row of k with the greatest event timestamp, ties
    going to the greatest created timestamp, then to the row that comes last in the source."""
    rows = _rows(source)
    values = _evaluate(source, view)
    ttl = parse_duration(view.ttl) if view.ttl else None
    out: dict[str, list[Any]] = {name: [] for name in view.features}
    ref = Reference(features=pd.DataFrame())
    for entity_row in _rows(entity_df):
        t = entity_row[timestamp_column]
        visible = [i for i in _rows_of(rows, join_keys, entity_row) if _visible(rows[i], t, timestamp, created_timestamp)]
        # the greatest event timestamp, then the greatest created timestamp, then the last in source order
        best = max(
            visible,
            key=lambda i: (rows[i][timestamp], rows[i][created_timestamp] if created_timestamp else 0, i),
            default=None,
        )
        if best is None:
            ref.missing += 1
        elif ttl is not None and t - rows[best][timestamp] > ttl:
            ref.expired += 1
            best = None
        ref.chosen.append(best)
        for name in view.features:
            out[name].append(None if best is None else values[best][name])
    ref.features = pd.DataFrame(out, index=range(len(entity_df)), dtype=object)
    return ref


def _aggregate(func: AggFunc, values: list[float]) -> float | None:
    if func is AggFunc.sum:
        return math.fsum(values)  # 0 over no rows
    if func is AggFunc.count:
        return len(values)  # 0 over no rows
    if not values:
        return None  # mean, min, max, std: null over no rows
    if func is AggFunc.mean:
        return statistics.fmean(values)
    if func is AggFunc.min:
        return min(values)
    if func is AggFunc.max:
        return max(values)
    if func is AggFunc.std:
        return statistics.stdev(values) if len(values) >= 2 else None  # ddof = 1
    raise AssertionError(func)


def reference_aggregations(
    source: pd.DataFrame,
    view: FeatureViewSpec,
    entity_df: pd.DataFrame,
    *,
    join_keys: list[str],
    timestamp: str,
    created_timestamp: str | None = None,
    timestamp_column: str = "t",
) -> Reference:
    """Aggregation view: f over the non-null values of c in the visible rows of k with
    t - w < event timestamp <= t where the aggregation's ``where`` is true; feature timestamp = greatest
    event timestamp of the visible rows (whatever their ``where``)."""
    rows = _rows(source)
    for i, row in enumerate(rows):
        row["__pos"] = i
    ttl = parse_duration(view.ttl) if view.ttl else None
    names = [
        (f"{a.column}_{func.value}_{window}", a.column, func, parse_duration(window), _passes(source, a.where))
        for a in view.aggregations
        for func in a.agg
        for window in a.windows
    ]
    out: dict[str, list[Any]] = {name: [] for name, *_ in names}
    ref = Reference(features=pd.DataFrame())
    for entity_row in _rows(entity_df):
        t = entity_row[timestamp_column]
        visible = [rows[i] for i in _rows_of(rows, join_keys, entity_row) if _visible(rows[i], t, timestamp, created_timestamp)]
        null_all = False
        if not visible:
            ref.missing += 1
            null_all = True
        elif ttl is not None and t - max(row[timestamp] for row in visible) > ttl:
            ref.expired += 1
            null_all = True
        for name, column, func, window, passes in names:
            if null_all:
                out[name].append(None)
                continue
            in_window = [row[column] for row in visible if t - window < row[timestamp] <= t and passes[row["__pos"]]]
            out[name].append(_aggregate(func, [float(v) for v in in_window if not is_null(v)]))
    ref.features = pd.DataFrame(out, index=range(len(entity_df)), dtype=object)
    return ref


# --- test helpers: sources on disk, the engine, random scenarios, comparisons -------------------------

BASE = pd.Timestamp("2024-03-01 00:00", tz="UTC")
HOUR = pd.Timedelta(hours=1)
US = pd.Timedelta(microseconds=1)


def at(hours: float, micros: int = 0) -> pd.Timestamp:
    """BASE + hours (+ micros microseconds)."""
    return BASE + hours * HOUR + micros * US


def stamps(values: list[pd.Timestamp]) -> pd.Series:
    """Timezone-aware UTC timestamps at microsecond resolution."""
    return pd.Series(values, dtype="datetime64[us, UTC]")


def write_files(directory: Path, files: dict[str, pd.DataFrame]) -> None:
    """Write each frame as parquet under ``directory``, in the dict's order (not necessarily name order)."""
    for name, frame in files.items():
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(target, index=False)


def in_source_order(files: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The source table as the contract orders it: files in name order, rows in file order."""
    return pd.concat([files[name] for name in sorted(files)], ignore_index=True)


def run_engine(
    tmp: Path,
    files: dict[str, pd.DataFrame],
    view: FeatureViewSpec,
    entity_df: pd.DataFrame,
    *,
    join_keys: list[str],
    path: str,
    timestamp: str = "ts",
    created_timestamp: str | None = None,
    timestamp_column: str = "t",
):
    """Write the source, materialize the single view ``v`` and return get_historical_features' result."""
    from hydraops.features import FeatureRepo, get_historical_features, materialize

    write_files(tmp / "data", files)
    data = DataSpec(
        format=FileFormat.parquet,
        dir=str(tmp / "data"),
        sources={"events": SourceSpec(path=path, timestamp=timestamp, created_timestamp=created_timestamp)},
    )
    features = FeaturesSpec(entities={"user": EntitySpec(join_keys=list(join_keys))}, views={"v": view})
    repo = FeatureRepo(features=features, data=data, offline_dir=tmp / "offline")
    materialize(repo)
    return get_historical_features(repo, entity_df, timestamp_column=timestamp_column)


def same(got: Any, want: Any) -> bool:
    """Null equals null (None, NaN, NA, NaT alike); numbers with a tolerance; anything else with ==."""
    if is_null(want):
        return is_null(got) or bool(pd.isna(got))
    if is_null(got) or bool(pd.isna(got)):
        return False
    if isinstance(want, (int, float)) and not isinstance(want, bool):
        return math.isclose(float(got), float(want), rel_tol=1e-9, abs_tol=1e-6)
    return got == want


def assert_result(result: Any, ref: Reference, entity_df: pd.DataFrame, view_name: str = "v") -> None:
    """Same rows in the same order, entity columns untouched, every feature value equal, same counts."""
    frame = result.frame
    assert len(frame) == len(entity_df)
    for column in entity_df.columns:
        assert column in frame.columns, column
        pd.testing.assert_series_equal(frame[column], entity_df[column], check_index=False, obj=f"entity column {column}")
    for name in ref.features.columns:
        assert name in frame.columns, f"no column {name} in {list(frame.columns)}"
        for i, (got, want) in enumerate(zip(frame[name].tolist(), ref.features[name].tolist())):
            assert same(got, want), f"{name}, entity row {i} ({entity_df.iloc[i].to_dict()}): got {got!r}, expected {want!r}"
    report = result.report[view_name]
    assert (report.missing, report.expired) == (ref.missing, ref.expired), "missing/expired counts"


KEY_KINDS: dict[str, tuple[list[str], list[tuple], list[tuple]]] = {
    # join keys, keys that may have source rows, keys that never do
    "int": (["user_id"], [(1,), (2,), (3,), (4,)], [(99,)]),
    "str": (["user"], [("a",), ("b",), ("c",), ("d",)], [("zz",)]),
    "composite": (["user_id", "region"], [(1, "x"), (1, "y"), (2, "x"), (2, "y")], [(1, "z"), (3, "x")]),
}
CREATED_OFFSETS = [-2 * HOUR, pd.Timedelta(0), pd.Timedelta(0), HOUR, 30 * HOUR]
T_OFFSETS = [pd.Timedelta(0), pd.Timedelta(0), pd.Timedelta(0), -US, US, 30 * pd.Timedelta(minutes=1)]


@dataclass
class Scenario:
    join_keys: list[str]
    files: dict[str, pd.DataFrame]  # name -> rows, in the order they are written
    path: str
    created: str | None
    ttl: str | None
    entity_df: pd.DataFrame

    @property
    def source(self) -> pd.DataFrame:
        return in_source_order(self.files)


def _key_frame(join_keys: list[str], keys: list[tuple]) -> dict[str, pd.Series]:
    """Key columns: int64 for int keys, str for string keys."""
    return {k: pd.Series([key[j] for key in keys], dtype="int64" if isinstance(keys[0][j], int) else "str") for j, k in enumerate(join_keys)}


@st.composite
def scenarios(draw: Any, *, max_t_hour: int, ttls: list[str | None], edges: list[str] = (), event_hours: int = 6) -> Scenario:
    """Few entities, a small grid of event times (ties), optional created timestamps, several files,
    an entity table with duplicates, unsorted times, keys without source rows, and times exactly at
    (or a microsecond around) an event time plus one of ``edges`` (TTLs, windows)."""
    join_keys, pool, absent = KEY_KINDS[draw(st.sampled_from(sorted(KEY_KINDS)))]
    entities = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=4, unique=True))
    n = draw(st.integers(1, 16))
    has_created = draw(st.integers(0, 2)) > 0
    keys = [draw(st.sampled_from(entities)) for _ in range(n)]
    event = [at(draw(st.integers(0, event_hours))) for _ in range(n)]
    rows: dict[str, Any] = _key_frame(join_keys, keys)
    rows["src_id"] = pd.Series(range(n), dtype="int64")
    rows["ts"] = stamps(event)
    if has_created:
        rows["created"] = stamps([e + draw(st.sampled_from(CREATED_OFFSETS)) for e in event])
    values = st.sampled_from([None, 0.0, 1.5, -2.25, 7.0])
    rows["value"] = pd.Series([draw(values) for _ in range(n)], dtype="float64")
    rows["label"] = pd.Series([draw(st.sampled_from([None, "x", "y", ""])) for _ in range(n)], dtype="str")
    cents = st.integers(-10_000, 10_000).map(lambda i: i / 100)
    amounts = st.one_of(st.none(), st.sampled_from([0.0, 1.0, 2.5, -3.0]), cents)
    rows["amount"] = pd.Series([draw(amounts) for _ in range(n)], dtype="float64")
    table = pd.DataFrame(rows)

    n_files = draw(st.integers(1, min(3, n)))
    cuts = draw(st.lists(st.integers(1, n - 1), min_size=n_files - 1, max_size=n_files - 1, unique=True)) if n > 1 else []
    bounds = [0, *sorted(cuts), n]
    # random names: the order files are written in is not their name order
    name = st.text(string.ascii_lowercase[:4], min_size=1, max_size=3)
    names = draw(st.lists(name, min_size=n_files, max_size=n_files, unique=True))
    if n_files == 1 and draw(st.booleans()):
        files, path = {"events.parquet": table}, "events.parquet"
    else:
        chunks = [table.iloc[bounds[i] : bounds[i + 1]].reset_index(drop=True) for i in range(n_files)]
        files = {f"events/{name}.parquet": chunk for name, chunk in zip(names, chunks)}
        path = "events/*.parquet"

    m = draw(st.integers(1, 12))
    entity_keys, times = [], []
    anything = st.sampled_from(pool + absent)
    far, near = st.integers(-1, max_t_hour), st.integers(0, event_hours + 3)
    shifts = st.sampled_from([pd.Timedelta(0), *(parse_duration(e) for e in edges)])
    anchors = [*event, *(rows["created"] if has_created else [])]
    for _ in range(m):
        kind = draw(st.integers(0, 5))
        if kind == 0:  # anything: possibly an entity without rows, possibly long after
            key, t = draw(anything), at(draw(far))
        elif kind <= 2:  # an entity with rows, at a time around the events
            key, t = draw(st.sampled_from(entities)), at(draw(near))
        else:  # exactly at an event's (or created) time plus an edge (TTL, window), that row's entity
            j = draw(st.integers(0, len(anchors) - 1))
            key, t = keys[j % n], anchors[j] + draw(shifts)
        entity_keys.append(key)
        times.append(t + draw(st.sampled_from(T_OFFSETS)))
    entity: dict[str, Any] = {"eid": pd.Series(range(m), dtype="int64")}
    entity |= _key_frame(join_keys, entity_keys)
    entity["t"] = stamps(times)
    entity_df = pd.DataFrame(entity)
    # duplicate some rows (same key and time), then shuffle; eid stays a unique row id
    duplicates = draw(st.lists(st.integers(0, m - 1), max_size=3))
    entity_df = pd.concat([entity_df, entity_df.iloc[duplicates]], ignore_index=True)
    entity_df["eid"] = range(len(entity_df))
    order = draw(st.permutations(range(len(entity_df))))
    entity_df = entity_df.iloc[list(order)].reset_index(drop=True)

    return Scenario(
        join_keys=join_keys,
        files=files,
        path=path,
        created="created" if has_created else None,
        ttl=draw(st.sampled_from(ttls)),
        entity_df=entity_df,
    )
