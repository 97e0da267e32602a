"""The declared checks of a model's inputs (``ServingSpec.features``: dtype, nullable, ge, le, isin) applied to
Arrow record batches, as batch scoring reads them: each broken check with its row mask, so a caller can
refuse the file or leave the rows out, counting them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hydraops.errors import ServingError
from hydraops.serving.spec import FeatureField

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class Broken:
    """One declared check broken by ``count`` rows of the input, the first at ``first_row`` (0-based)."""

    column: str
    constraint: str  # as declared: "nullable: false", "ge: 18", "le: 90", "isin: [basic, premium]"
    count: int
    first_row: int

    def describe(self) -> str:
        return f"column '{self.column}' breaks its declared check '{self.constraint}': {self.count} row(s), the first at row {self.first_row}"

    def plus(self, other: Broken) -> Broken:
        return Broken(self.column, self.constraint, self.count + other.count, min(self.first_row, other.first_row))


#: declared dtype → the Arrow types an input column of it may have
_ACCEPTS = {
    "int64": "integer or floating point",  # a count with missing values is stored as floats (training tables do)
    "float64": "integer or floating point",
    "bool": "boolean",
    "string": "string",
    "category": "string",
    "timestamp": "timestamp",
}


def check_types(schema: pa.Schema, fields: Iterable[FeatureField], path: str) -> None:
    """ServingError (nothing scored) naming every input column whose Arrow type cannot hold its declared dtype."""
    wrong = [(f, schema.field(f.name).type) for f in fields if f.dtype is not None and not _holds(schema.field(f.name).type, f.dtype)]
    if wrong:
        said = "; ".join(f"column '{f.name}' is {arrow}, declared {f.dtype} (expected {_ACCEPTS.get(f.dtype, f.dtype)} values)" for f, arrow in wrong)
        raise ServingError(f"{path}: {said}; nothing was written", path=path, column=wrong[0][0].name)


def _holds(arrow: pa.DataType, dtype: str) -> bool:
    import pyarrow as pa

    if pa.types.is_null(arrow):  # every value missing: the nullable check speaks for it
        return True
    if pa.types.is_dictionary(arrow):
        arrow = arrow.value_type
    return {
        "int64": lambda t: pa.types.is_integer(t) or pa.types.is_floating(t),
        "float64": lambda t: pa.types.is_integer(t) or pa.types.is_floating(t),
        "bool": pa.types.is_boolean,
        "string": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t),
        "category": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t) or pa.types.is_integer(t),
        "timestamp": pa.types.is_timestamp,
    }.get(dtype, lambda t: True)(arrow)


def broken_checks(table: pa.Table, fields: Iterable[FeatureField], offset: int) -> list[tuple[Broken, pa.Array]]:
    """Every declared check some row of ``table`` breaks, with the mask of those rows; ``offset`` is the
    table's first row in the input (so ``first_row`` counts from the file's start)."""
    import pyarrow.compute as pc

    found = []
    for field in fields:
        column = table.column(field.name).combine_chunks()
        if hasattr(column.type, "value_type"):
            column = column.dictionary_decode()
        for constraint, mask in _masks(field, column):
            mask = pc.fill_null(mask, False)
            count = pc.sum(mask).as_py() or 0
            if count:
                first = pc.index(mask, True).as_py()
                found.append((Broken(field.name, constraint, count, offset + first), mask))
    return found


def _masks(field: FeatureField, column: pa.Array):
    """(constraint, rows breaking it) for each declared check of ``field``; nulls break only ``nullable``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not field.nullable:
        yield "nullable: false", pc.is_null(column, nan_is_null=True) if pa.types.is_floating(column.type) else pc.is_null(column)
    if field.ge is not None:
        yield f"ge: {field.ge:g}", pc.less(column, pa.scalar(field.ge))
    if field.le is not None:
        yield f"le: {field.le:g}", pc.greater(column, pa.scalar(field.le))
    if field.isin is not None:
        values = pa.array(field.isin)
        try:
            values = values.cast(column.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            column, values = column.cast(pa.string()), values.cast(pa.string())
        yield f"isin: [{', '.join(map(str, field.isin))}]", pc.and_(pc.invert(pc.is_in(column, value_set=values)), pc.is_valid(column))


def refusal(path: str, broken: list[Broken]) -> ServingError:
    """The error refusing the input: every broken check, its count and first row (exit 2)."""
    lines = "\n  ".join(b.describe() for b in broken)
    return ServingError(
        f"{path}: {sum(b.count for b in broken)} failure(s) of the declared checks of the model's inputs; nothing was written:\n  {lines}",
        path=path,
        column=broken[0].column,
        hint="fix those rows, or leave them out and count them: on_invalid=skip (deploy.batch.on_invalid)",
    )


def merge(tally: dict[tuple[str, str], Broken], found: Iterable[Broken]) -> None:
    """Add ``found`` to ``tally`` (keyed by column and constraint)."""
    for broken in found:
        key = (broken.column, broken.constraint)
        tally[key] = tally[key].plus(broken) if key in tally else broken
