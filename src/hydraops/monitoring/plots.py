"""Hand-made inline SVG for the HTML report: nothing to download, nothing to import beyond the standard library.

distribution_svg(reference, sketch)    # numeric: densities on the reference bins, with the values below / above
                                       # its range; categorical: the shares of each category, other and unseen
trend_svg(points)                      # a statistic per time chunk against its threshold

Every text drawn is escaped; each mark carries a ``<title>`` (the exact numbers, shown on hover).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from hydraops.monitoring.profile import ColumnProfile
from hydraops.monitoring.sketch import Sketch

WIDTH = 560
REFERENCE, CURRENT, BREACH, OK = "#9aa5b1", "#1f6feb", "#cf222e", "#1a7f37"
DISPLAY_BINS = 48  # numeric: at most this many bins drawn, each a union of reference bins
_SLOT = 34  # numeric: the width of the "below min" and "above max" slots beside the range
_LABEL = 150  # categorical: the width of the category labels


def distribution_svg(reference: ColumnProfile, sketch: Sketch | None) -> str:
    """Reference against current (``sketch``: None or empty when there are no current values)."""
    current = sketch if sketch is not None and sketch.n else None
    if reference.numeric:
        return _numeric(reference, current)
    return _categorical(reference, current)


@dataclass(frozen=True)
class TrendPoint:
    """One chunk's statistic and the threshold it was judged against."""

    label: str
    statistic: float
    threshold: float
    drifted: bool
    method: str


def trend_svg(points: Sequence[TrendPoint], height: int = 150) -> str:
    """The statistic per chunk (a line of points, red where drifted) and each chunk's threshold (dashed)."""
    if not points:
        return ""
    top, bottom, left, right = 12, height - 30, 48, WIDTH - 12
    high = max(1e-9, *(p.statistic for p in points), *(p.threshold for p in points)) * 1.1
    step = (right - left) / max(1, len(points) - 1)
    xs = [left + step * i if len(points) > 1 else (left + right) / 2 for i in range(len(points))]

    def y(value: float) -> float:
        return bottom - (bottom - top) * min(value, high) / high

    line = " ".join(f"{x:.1f},{y(p.statistic):.1f}" for x, p in zip(xs, points, strict=True))
    half = step / 2 if len(points) > 1 else (right - left) / 2
    limits = "".join(
        f'<line x1="{x - half:.1f}" x2="{x + half:.1f}" y1="{y(p.threshold):.1f}" y2="{y(p.threshold):.1f}" stroke="{BREACH}" stroke-dasharray="4 3"/>'
        for x, p in zip(xs, points, strict=True)
    )
    marks = "".join(
        f'<circle cx="{x:.1f}" cy="{y(p.statistic):.1f}" r="3.5" fill="{BREACH if p.drifted else OK}">'
        f"<title>{escape(p.label)}: {escape(p.method)} {p.statistic:.4g} (threshold {p.threshold:g})</title></circle>"
        for x, p in zip(xs, points, strict=True)
    )
    shown = range(len(points)) if len(points) <= 8 else sorted({0, len(points) // 2, len(points) - 1})
    anchors = {0: "start", len(points) - 1: "end"} if len(points) > 1 else {}
    labels = "".join(_text(xs[i], height - 12, points[i].label, anchor=anchors.get(i, "middle")) for i in shown)
    axis = _text(left - 6, y(high / 1.1) + 4, f"{high / 1.1:.3g}", anchor="end") + _text(left - 6, bottom + 4, "0", anchor="end")
    body = (f'<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="#d0d7de"/>{limits}'
            f'<polyline points="{line}" fill="none" stroke="{CURRENT}" stroke-width="1.5"/>{marks}{labels}{axis}')  # fmt: skip
    return _svg(height, body, "statistic per chunk")


def _numeric(reference: ColumnProfile, current: Sketch | None) -> str:
    height = 170
    top, bottom = 12, height - 36
    left, right = _SLOT + 12, WIDTH - _SLOT - 12
    groups = _display_groups(reference)
    edges = [reference.edges[i] for i in groups]
    low, high = edges[0], edges[-1]
    span = (high - low) or 1.0

    def x(value: float) -> float:
        return left + (right - left) * (value - low) / span

    widths = [(b - a) or span * 1e-9 for a, b in zip(edges[:-1], edges[1:], strict=True)]
    ref = [c / max(1, reference.count) / w for c, w in zip(_merged(reference.counts, groups), widths, strict=True)]
    cur = [c / current.n / w for c, w in zip(_merged(current.counts, groups), widths, strict=True)] if current else []
    peak = max([*ref, *cur, 1e-12])

    def step_path(densities: Sequence[float]) -> str:
        points = [f"M{x(low):.1f},{bottom}"]
        for a, b, d in zip(edges[:-1], edges[1:], densities, strict=True):
            level = bottom - (bottom - top) * d / peak
            points += [f"L{x(a):.1f},{level:.1f}", f"L{x(b):.1f},{level:.1f}"]
        return " ".join([*points, f"L{x(high):.1f},{bottom}"])

    body = f'<path d="{step_path(ref)}" fill="{REFERENCE}" fill-opacity="0.55" stroke="none"><title>reference</title></path>'
    if current:
        body += f'<path d="{step_path(cur)}" fill="none" stroke="{CURRENT}" stroke-width="1.5"><title>current</title></path>'
        for name, count, slot in (("below the reference min", current.below, 6), ("above the reference max", current.above, WIDTH - _SLOT - 6)):
            share = count / current.n
            level = (bottom - top) * share
            body += (f'<rect x="{slot}" y="{bottom - level:.1f}" width="{_SLOT}" height="{level:.1f}" fill="{CURRENT}">'
                     f"<title>{name}: {count:,} ({share:.2%})</title></rect>")  # fmt: skip
            body += _text(slot + _SLOT / 2, top + 8, f"{share:.1%}", anchor="middle")
    body += f'<line x1="6" x2="{WIDTH - 6}" y1="{bottom}" y2="{bottom}" stroke="#d0d7de"/>'
    body += _text(6 + _SLOT / 2, bottom + 14, "< min", anchor="middle") + _text(WIDTH - 6 - _SLOT / 2, bottom + 14, "> max", anchor="middle")
    body += _text(left, bottom + 14, f"{low:.4g}", anchor="start") + _text(right, bottom + 14, f"{high:.4g}", anchor="end")
    body += _legend(height - 6)
    return _svg(height, body, f"{reference.name}: reference and current densities on the reference bins")


def _display_groups(reference: ColumnProfile, target: int = DISPLAY_BINS) -> list[int]:
    """Indices of the reference edges that bound the bins drawn: the edges nearest to ``target`` equal-width
    steps, so the drawn bins are unions of reference bins (100+ quantile bins are too fine to read). Integer
    data keeps no edge that starts an empty bin: one between two integers is no gap in the data."""
    edges, last = reference.edges, len(reference.edges) - 1
    candidates = list(range(last + 1))
    if "int" in reference.dtype.lower():
        candidates = [i for i in candidates if i in (0, last) or reference.counts[i] > 0]
    low, high = edges[0], edges[-1]
    if len(candidates) <= target + 1 or high == low:
        return candidates
    values = [edges[i] for i in candidates]
    steps = (candidates[min(bisect_left(values, low + (high - low) * k / target), len(candidates) - 1)] for k in range(1, target))
    return sorted({0, *steps, last})


def _merged(counts: Sequence[int], groups: Sequence[int]) -> list[int]:
    return [int(sum(counts[a:b])) for a, b in zip(groups[:-1], groups[1:], strict=True)]


def _categorical(reference: ColumnProfile, current: Sketch | None) -> str:
    rows = [(key, reference.counts[i], int(current.counts[i]) if current else 0) for i, key in enumerate(reference.categories)]
    rows.append(("(other)", reference.other, current.other if current else 0))
    if current and current.unseen:
        rows.append(("(unseen: " + ", ".join(current.unseen_examples) + ")", 0, current.unseen))
    total_ref = max(1, reference.count)
    total_cur = max(1, current.n) if current else 1
    bar, gap = 7, 6
    height = 12 + len(rows) * (2 * bar + gap) + 22
    scale = WIDTH - _LABEL - 70
    peak = max(1e-12, *(r / total_ref for _, r, _ in rows), *((c / total_cur) for _, _, c in rows))
    body = ""
    for i, (key, ref_count, cur_count) in enumerate(rows):
        y0 = 12 + i * (2 * bar + gap)
        label = key if len(key) <= 22 else key[:21] + "…"
        body += f"<g><title>{escape(key)}: reference {ref_count / total_ref:.2%}" + (f", current {cur_count / total_cur:.2%}" if current else "") + "</title>"
        body += _text(_LABEL - 6, y0 + bar + 3, label, anchor="end")
        for offset, share, colour in ((0, ref_count / total_ref, REFERENCE), (bar, cur_count / total_cur if current else None, CURRENT)):
            if share is None:
                continue
            length = scale * share / peak
            body += f'<rect x="{_LABEL}" y="{y0 + offset}" width="{length:.1f}" height="{bar}" fill="{colour}"/>'
            body += _text(_LABEL + length + 4, y0 + offset + bar - 1, f"{share:.1%}", anchor="start", size=9)
        body += "</g>"
    body += _legend(height - 6)
    return _svg(height, body, f"{reference.name}: reference and current shares per category")


def _legend(y: float) -> str:
    return (f'<rect x="{WIDTH - 190}" y="{y - 8}" width="10" height="8" fill="{REFERENCE}"/>' + _text(WIDTH - 176, y, "reference", anchor="start")
            + f'<rect x="{WIDTH - 100}" y="{y - 8}" width="10" height="8" fill="{CURRENT}"/>' + _text(WIDTH - 86, y, "current", anchor="start"))  # fmt: skip


def _text(x: float, y: float, text: str, *, anchor: str, size: int = 10) -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}">{escape(text)}</text>'


def _svg(height: int, body: str, label: str) -> str:
    return (f'<svg role="img" aria-label="{escape(label)}" viewBox="0 0 {WIDTH} {height}" '
            f'width="{WIDTH}" height="{height}" font-family="system-ui, sans-serif">{body}</svg>')  # fmt: skip


__all__ = ["TrendPoint", "distribution_svg", "trend_svg"]
