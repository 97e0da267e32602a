"""What ``hydraops train`` prints after its run line: the declared metrics by split, and the worst slice.

    out.print(metrics_table(result.metrics, spec.evaluate.metrics, spec.evaluate.primary_metric))

``metrics`` is keyed as training/evaluate.py writes it: ``{split}.{metric}`` overall and
``{split}.{column}:{value}.{metric}`` per slice value (a value may itself contain dots).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

SPLITS = ("train", "valid", "test")


def slice_values(metrics: Mapping[str, float], split: str, name: str) -> dict[str, float]:
    """``{"column:value": metric}`` of one split's slices for the metric ``name``."""
    found = {}
    for key, value in metrics.items():
        head, _, rest = key.partition(".")
        middle, _, metric = rest.rpartition(".")
        if head == split and metric == name and ":" in middle:
            found[middle] = value
    return found


def worst_slice(metrics: Mapping[str, float], split: str, name: str) -> tuple[str, float] | None:
    """The slice value where ``name`` is worst on ``split`` (lowest, or highest for a loss), or None."""
    from hydraops.registry.gates import LOWER_IS_BETTER

    values = slice_values(metrics, split, name)
    if not values:
        return None
    pick = max if name in LOWER_IS_BETTER else min
    label = pick(values, key=values.__getitem__)
    return label, values[label]


def metrics_table(metrics: Mapping[str, float], names: Sequence[str], primary: str | None = None, slice_split: str = "test"):  # -> rich.table.Table
    """Rows: ``names`` (evaluate.metrics, the primary one in bold); columns: the splits that have a value, then
    the worst slice of ``slice_split`` when the run has slices. A metric left out of a split (undefined there) shows '-'."""
    from rich.markup import escape
    from rich.table import Table

    splits = [s for s in SPLITS if any(f"{s}.{name}" in metrics for name in names)]
    worst = {name: worst_slice(metrics, slice_split, name) for name in names}
    has_slices = any(worst.values())
    table = Table("metric", title="metrics")
    for split in splits:
        table.add_column(split, justify="right")
    if has_slices:
        table.add_column(f"worst {slice_split} slice")
    for name in names:
        cells = [_number(metrics.get(f"{split}.{name}")) for split in splits]
        if has_slices:
            found = worst[name]
            cells.append("-" if found is None else f"{_number(found[1])}  {escape(found[0])}")
        table.add_row(name, *cells, style="bold" if name == primary else None)
    return table


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


__all__ = ["metrics_table", "slice_values", "worst_slice"]
