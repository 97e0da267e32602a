"""Explanations as the service returns them: per row the base value, each input's contribution with the
value served, ordered by |contribution| (the first ``top_k``), the space they are in, and the additivity
check (base + every contribution = the raw prediction, within 1e-9)."""

from __future__ import annotations

from typing import Any

from hydraops.serving.predictor import Explanation

ADDITIVITY_TOLERANCE = 1e-9


def explanations(explained: Explanation, names: list[str], values: list[dict[str, Any]], top_k: int | None) -> list[dict[str, Any]]:
    """One document per row; ``top_k`` keeps the largest contributions and reports the rest as one sum."""
    documents = []
    for row, served in enumerate(values):
        contributions = [float(c) for c in explained.contributions[row]]
        order = sorted(range(len(names)), key=lambda i: -abs(contributions[i]))  # stable: declared order on ties
        shown = order if top_k is None else order[:top_k]
        base, raw = float(explained.base[row]), float(explained.raw[row])
        total = base + sum(contributions)
        documents.append(
            {
                "base": base,
                "raw": raw,
                "space": explained.space,
                "contributions": [{"feature": names[i], "value": served[names[i]], "contribution": contributions[i]} for i in shown],
                "rest": sum(contributions[i] for i in order[len(shown) :]),
                "additivity": {"sum": total, "error": abs(total - raw), "ok": abs(total - raw) <= ADDITIVITY_TOLERANCE},
            }
        )
    return documents
