"""Batch scoring: a parquet (or CSV) file of rows in, the same rows with ``prediction`` out, streamed in
chunks of ``chunk_rows`` so memory stays bounded whatever the file's size.

Each row carries the model's features, or the entity keys of the views the model uses and a timestamp: the
features it lacks are then looked up point in time in the offline store by the join that builds training
tables (``features.historical.get_historical_features``), so batch scoring and training never disagree.
Rows are checked against the declared checks of the inputs first. The output is deterministic: one row
group per chunk, and file metadata naming the model (name, version, run id, sha256) and hydraops' version,
without a timestamp; the same input and version give the same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hydraops.config.schemas.lifecycle import OnInvalid
from hydraops.errors import ServingError
from hydraops.serving.batch_checks import Broken, broken_checks, check_types, merge, refusal
from hydraops.serving.predictor import Predictor

if TYPE_CHECKING:
    import pyarrow as pa

    from hydraops.features.repo import FeatureRepo

PREDICTION = "prediction"
CONTRIB = "contrib__"  # explanations: contrib__<feature> per input, contrib__base
META_PREFIX = "hydraops."


@dataclass(frozen=True)
class ScoreOptions:
    chunk_rows: int = 100_000
    timestamp: str | None = None  # the rows' instant column, for features looked up point in time
    explain: bool = False
    on_invalid: OnInvalid = OnInvalid.fail


@dataclass(frozen=True)
class ScoreReport:
    """What a scoring wrote: rows read, rows written, the row groups, the features looked up, the rows left out."""

    output: Path
    rows: int
    written: int
    row_groups: int
    looked_up: tuple[str, ...] = ()
    skipped: tuple[Broken, ...] = field(default_factory=tuple)

    @property
    def skipped_rows(self) -> int:
        return self.rows - self.written


def score_file(predictor: Predictor, input: Path, output: Path, options: ScoreOptions, *,
               repo: FeatureRepo | None = None, metadata: Mapping[str, str] | None = None) -> ScoreReport:  # fmt: skip
    """Score ``input`` into ``output`` (parquet) with ``predictor``; ``repo`` is the feature store features missing
    from the input are looked up in; ``metadata`` is written into the file's key-value metadata (``hydraops.*``).
    The file appears whole or not at all (written beside it, then renamed)."""
    import pyarrow.parquet as pq

    spec = predictor.spec
    schema, chunks = read_chunks(input, options.chunk_rows)
    given = [f for f in spec.features if f.name in schema.names]
    missing = [f for f in spec.features if f.name not in schema.names]
    _check_lookup(input, schema, missing, spec.views, options.timestamp, repo)
    check_types(schema, given, str(input))
    columns = [PREDICTION, *([f"{CONTRIB}{n}" for n in spec.feature_names] + [f"{CONTRIB}base"] if options.explain else [])]
    clashes = [c for c in columns if c in schema.names]
    if clashes:
        raise ServingError(f"{input}: column(s) {', '.join(clashes)} would be overwritten by the scores: rename them", path=str(input), column=clashes[0])
    if options.explain and not predictor.explainable:
        raise ServingError(f"explain=true: model {spec.model.name} v{spec.model.version} ({spec.model.flavor}) is not explainable; "
                           "hydraops explains LightGBM and linear models", key="explain")  # fmt: skip
    out_schema = _output_schema(schema, columns, metadata or {})
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    rows = written = groups = 0
    refused: dict[tuple[str, str], Broken] = {}
    skipped: dict[tuple[str, str], Broken] = {}
    try:
        with pq.ParquetWriter(partial, out_schema) as writer:
            for chunk in chunks:
                found = broken_checks(chunk, given, rows)
                rows += chunk.num_rows
                if refused or (found and options.on_invalid is OnInvalid.fail):
                    merge(refused, (b for b, _ in found))  # go on checking: the error counts every broken row
                    continue
                if found:
                    merge(skipped, (b for b, _ in found))
                    chunk = chunk.filter(_any_broken([mask for _, mask in found]), null_selection_behavior="drop")
                if not chunk.num_rows:
                    continue
                scored = _score_chunk(predictor, chunk, missing, options, repo)
                writer.write_table(_with_columns(chunk, scored, out_schema), row_group_size=options.chunk_rows)
                written, groups = written + chunk.num_rows, groups + 1
        if refused:
            raise refusal(str(input), list(refused.values()))
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    return ScoreReport(output, rows, written, groups, tuple(f.name for f in missing), tuple(skipped.values()))


def require_input(path: Path) -> None:
    """A ServingError (``input``) when ``path`` is not a file."""
    if not Path(path).is_file():
        raise ServingError(f"input={path}: no such file", key="input", path=str(path))


def read_chunks(path: Path, size: int) -> tuple[pa.Schema, Iterator[pa.Table]]:
    """The file's schema (without metadata) and its rows as tables of exactly ``size`` rows (the last one fewer),
    read batch by batch: parquet (``.parquet``, ``.pq``) row group by row group, CSV block by block."""
    import pyarrow.csv as csv
    import pyarrow.parquet as pq

    require_input(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            source = pq.ParquetFile(path, pre_buffer=False)  # pre-buffering keeps every row group read until the end
            schema, batches = source.schema_arrow, source.iter_batches(batch_size=size)
        elif suffix == ".csv":
            reader = csv.open_csv(path)
            schema, batches = reader.schema, iter(reader)
        else:
            raise ServingError(f"input={path}: expected a parquet (.parquet) or CSV (.csv) file", key="input", path=str(path))
    except (OSError, ValueError) as error:
        if isinstance(error, ServingError):
            raise
        raise ServingError(f"input={path}: not readable as {suffix.lstrip('.')}: {error}", key="input", path=str(path)) from None
    schema = schema.remove_metadata()
    return schema, _rechunked(batches, schema, size, path)


def _rechunked(batches, schema: pa.Schema, size: int, path: Path) -> Iterator[pa.Table]:
    import pyarrow as pa

    pending: list[pa.RecordBatch] = []
    count = 0
    try:
        for batch in batches:
            batch = pa.RecordBatch.from_arrays(batch.columns, schema=schema)
            while batch.num_rows:
                take = min(size - count, batch.num_rows)
                pending.append(batch.slice(0, take))
                count, batch = count + take, batch.slice(take)
                if count == size:
                    yield pa.Table.from_batches(pending, schema)
                    pending, count = [], 0
    except pa.ArrowException as error:
        raise ServingError(f"input={path}: cannot read it: {error}", key="input", path=str(path)) from None
    if pending:
        yield pa.Table.from_batches(pending, schema)


def _check_lookup(path: Path, schema: pa.Schema, missing: list, views: list, timestamp: str | None, repo: FeatureRepo | None) -> None:
    """Features the input lacks must be looked up: each from a view, whose join keys and a timestamp column the rows have."""
    if not missing:
        return
    names = ", ".join(f.name for f in missing)
    request_time = [f.name for f in missing if f.view is None]
    if request_time:
        raise ServingError(f"{path}: the model's input(s) {', '.join(request_time)} are given with each row (not from a feature view) "
                           f"and are not columns of the input; columns: {', '.join(schema.names)}", path=str(path), column=request_time[0])  # fmt: skip
    if repo is None:
        raise ServingError(
            f"{path}: the model's input(s) {names} are not columns of the input, and no feature store is at hand to look them up", path=str(path)
        )
    used = {f.view for f in missing}
    keys = list(dict.fromkeys(k for v in views if v.name in used for k in v.join_keys))
    lacking = [k for k in [*keys, timestamp or "<timestamp>"] if k not in schema.names]
    if lacking:
        raise ServingError(
            f"{path}: the model's input(s) {names} are not columns of the input, so they are looked up point in time, "
            f"which needs the entity key(s) {', '.join(keys)} and a timestamp column (timestamp=, default the labels' timestamp); "
            f"the input lacks {', '.join(lacking)}; columns: {', '.join(schema.names)}",
            path=str(path),
            column=lacking[0],
        )


def _score_chunk(predictor: Predictor, chunk: pa.Table, missing: list, options: ScoreOptions, repo) -> dict[str, object]:
    """The new columns of one chunk: ``prediction`` and, when asked, the contributions."""
    spec = predictor.spec
    given = [n for n in spec.feature_names if n in chunk.column_names]
    frame = chunk.select(given).to_pandas()
    if missing:
        from hydraops.features.historical import get_historical_features

        keys = list(dict.fromkeys(k for v in spec.views if v.name in {f.view for f in missing} for k in v.join_keys))
        rows = chunk.select([*keys, options.timestamp]).to_pandas()
        joined = get_historical_features(repo, rows, timestamp_column=options.timestamp, features=[f.name for f in missing])
        defaults = (spec.service.get("defaults") or {}) if spec.service.get("missing") == "default" else {}
        for f in missing:
            values = joined.frame[f.name]
            if f.name in defaults:  # missing: default, as the service serves it: where the join found none or an expired one
                values = values.where(~joined.unserved[f.view], defaults[f.name])
            frame[f.name] = values.to_numpy()
    columns: dict[str, object] = {PREDICTION: predictor.predict(frame)}
    if options.explain:
        explanation = predictor.explain(frame)
        columns |= {f"{CONTRIB}{n}": explanation.contributions[:, i] for i, n in enumerate(spec.feature_names)}
        columns[f"{CONTRIB}base"] = explanation.base
    return columns


def _with_columns(chunk: pa.Table, scored: dict[str, object], schema: pa.Schema) -> pa.Table:
    import pyarrow as pa

    arrays = [*chunk.columns, *(pa.array(scored[name], pa.float64()) for name in schema.names[chunk.num_columns :])]
    return pa.Table.from_arrays(arrays, schema=schema)


def _output_schema(schema: pa.Schema, columns: list[str], metadata: Mapping[str, str]) -> pa.Schema:
    import pyarrow as pa

    out = pa.schema([*schema, *(pa.field(name, pa.float64()) for name in columns)])
    return out.with_metadata({f"{META_PREFIX}{k}": str(v) for k, v in sorted(metadata.items())})


def _any_broken(masks: list) -> pa.Array:
    """The rows to keep: those breaking none of the masks."""
    import pyarrow.compute as pc

    broken = masks[0]
    for mask in masks[1:]:
        broken = pc.or_(broken, mask)
    return pc.invert(broken)


def file_metadata(path: Path | str) -> dict[str, str]:
    """The ``hydraops.*`` metadata of a scored file (model name, version, run id, sha256, hydraops version)."""
    import pyarrow.parquet as pq

    found = pq.read_schema(path).metadata or {}
    return {k.decode()[len(META_PREFIX) :]: v.decode() for k, v in found.items() if k.decode().startswith(META_PREFIX)}
