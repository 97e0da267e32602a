"""Cell-by-cell comparison of training tables written by the ``features_e2e.py`` contenders."""

from __future__ import annotations

from pathlib import Path

RTOL = 1e-9


def _differing(a, b):
    """Boolean mask of the cells where two columns differ (numbers within RTOL, null = null)."""
    import numpy as np
    import pandas as pd

    a_null, b_null = a.isna().to_numpy(), b.isna().to_numpy()
    numeric = pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b)
    numeric = numeric and not pd.api.types.is_bool_dtype(a) and not pd.api.types.is_bool_dtype(b)
    if numeric:
        x = a.to_numpy(dtype="float64", na_value=np.nan)
        y = b.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            equal = np.isclose(x, y, rtol=RTOL, atol=0.0)
    else:
        equal = (a.astype(object).to_numpy() == b.astype(object).to_numpy()).astype(bool)
    return ~((a_null & b_null) | (~a_null & ~b_null & equal))


def compare_tables(actual: Path, expected: Path) -> list[str]:
    """How ``actual`` differs from ``expected``: columns, row count, then per column the cells that differ."""
    import pandas as pd

    a, b = pd.read_parquet(actual), pd.read_parquet(expected)
    if list(a.columns) != list(b.columns):
        return [f"columns differ: {list(a.columns)} vs the brute force's {list(b.columns)}"]
    if len(a) != len(b):
        return [f"{len(a):,} rows vs the brute force's {len(b):,}"]
    problems = []
    for column in a.columns:
        mask = _differing(a[column], b[column])
        if mask.any():
            first = int(mask.argmax())
            problems.append(f"{column}: {int(mask.sum()):,} of {len(a):,} cells differ (row {first}: {a[column].iloc[first]!r} vs {b[column].iloc[first]!r})")
    return problems


def compare_feast(feast: Path, expected: Path, case: dict) -> dict:
    """A table's row-view values (Feast's, for information; hydraops-rows') beside the brute force's, matched on
    (keys, label timestamp)."""
    import pandas as pd

    labels = case["labels"]
    on = [*labels["keys"], labels["timestamp"]]
    names = [n for view in case["views"] if "features" in view for n in view["features"]]
    f = pd.read_parquet(feast, columns=[*on, *names]).drop_duplicates(on)
    b = pd.read_parquet(expected, columns=[*on, *names]).drop_duplicates(on)
    f[labels["timestamp"]] = f[labels["timestamp"]].astype(b[labels["timestamp"]].dtype)  # Feast returns ns
    merged = b.merge(f, on=on, how="left", suffixes=("", "__feast"), indicator=True)
    absent = int((merged["_merge"] == "left_only").sum())
    found = merged[merged["_merge"] == "both"]
    cells = {n: int(_differing(found[n + "__feast"], found[n]).sum()) for n in names}
    total = len(found) * len(names)
    summary = f"{sum(cells.values()):,} of {total:,} cells differ; {absent:,} of {len(b):,} (key, time) pairs absent from its table"
    return {"differing_cells": cells, "compared_cells": total, "absent_label_pairs": absent, "label_pairs": len(b), "summary": summary}
