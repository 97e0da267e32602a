"""The monitoring report as one self-contained HTML page: inline CSS and inline SVG, nothing fetched at view time.

html = render_report(report, profile, {"model": "churn", "version": "3", "current": "last_week.parquet"})
write_report(report, profile, Path("reports/monitor/report.html"), model="churn", version="3", ...)

It shows, from the :class:`~hydraops.monitoring.check.MonitorReport` as it is (any violation kind, chunks when
there are some): the header (model, version, current data, rows, when, verdict), the violations with their
breach ids, the dataset drift, a table of every column, then a section per column: reference against current
distribution, statistic, method, threshold and the config level that set it, the checks it breached, and the
statistic per time chunk. Every value that comes from data or config is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from pathlib import Path
from string import Template
from typing import Any

from hydraops.monitoring.check import MonitorReport, breach_ids
from hydraops.monitoring.drift import DriftResult
from hydraops.monitoring.plots import TrendPoint, distribution_svg, trend_svg
from hydraops.monitoring.profile import Profile

REPORT = "report.html"
_HEADER_KEYS = ("model", "version", "current", "data", "rows", "when")
_LABELS = {"current": "current data", "run_id": "training run", "monitoring_run": "monitoring run"}

_PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; margin: 0 auto; max-width: 1100px; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 8px; } h2 { font-size: 18px; margin: 32px 0 8px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
h3 { font-size: 16px; margin: 0 0 8px; }
table { border-collapse: collapse; margin: 8px 0; } th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
dl.about { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; margin: 8px 0; } dl.about dt { color: #59636e; }
.verdict { display: inline-block; padding: 4px 12px; border-radius: 6px; font-weight: 600; }
.breached { background: #ffebe9; color: #cf222e; } .ok { background: #dafbe1; color: #1a7f37; }
section.column { border: 1px solid #d0d7de; border-radius: 8px; padding: 12px 16px; margin: 16px 0; }
section.column.drifted { border-color: #cf222e; }
.muted { color: #59636e; } code { background: #f6f8fa; padding: 0 4px; border-radius: 4px; }
</style>
</head>
<body>
$body
<p class="muted">Written by hydraops. Self-contained: no network needed to view it.</p>
</body>
</html>
""")


def render_report(report: MonitorReport, profile: Profile, about: Mapping[str, Any]) -> str:
    """The page for ``report`` against ``profile``; ``about`` says what was judged (model, version, current, data,
    when, run ids...: each shown in the header; model, version and data also make the breach ids)."""
    title = f"Monitoring: {about.get('model', 'model')} v{about.get('version', '?')}"
    parts = [
        _header(report, about, title),
        _violations(report, about),
        _dataset(report),
        _columns_table(report),
        *(_column_section(i, result, report, profile) for i, result in enumerate(report.drift)),
        _missing(report),
        _chunks(report),
    ]
    return _PAGE.substitute(title=escape(title), body="\n".join(part for part in parts if part))


def write_report(report: MonitorReport, profile: Profile, path: Path, **about: Any) -> Path:
    """:func:`render_report` written to ``path`` (its folder created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(report, profile, about), encoding="utf-8")
    return path


def _header(report: MonitorReport, about: Mapping[str, Any], title: str) -> str:
    shown = {key: about[key] for key in _HEADER_KEYS if about.get(key) is not None}
    shown["rows"] = f"{report.rows:,}"
    shown.update({key: value for key, value in about.items() if key not in _HEADER_KEYS and value is not None})
    items = "".join(f"<dt>{escape(_LABELS.get(key, str(key)))}</dt><dd>{escape(str(value))}</dd>" for key, value in shown.items())
    if report.breached:
        kinds = sorted({v.check for v in report.violations})
        verdict = f'<span class="verdict breached">BREACHED: {len(report.violations)} violation(s) ({escape(", ".join(kinds))})</span>'
    else:
        verdict = '<span class="verdict ok">OK: no check breached</span>'
    return f'<header><h1>{escape(title)}</h1>{verdict}<dl class="about">{items}</dl></header>'


def _violations(report: MonitorReport, about: Mapping[str, Any]) -> str:
    if not report.violations:
        return '<h2 id="violations">Violations</h2><p>No check breached.</p>'
    heads = ("breach id", "check", "feature", "chunk", "method", "value", "threshold", "threshold source")
    rows = [
        (breach, v.check, v.feature, v.chunk, v.method, _number(v.value), _number(v.threshold), v.threshold_source)
        for breach, v in zip(breach_ids(report, **about), report.violations, strict=True)
    ]
    return '<h2 id="violations">Violations</h2>' + _table(heads, rows, numeric={5, 6}, css="violations")


def _dataset(report: MonitorReport) -> str:
    dataset = report.dataset
    verdict = '<span class="verdict breached">dataset drift</span>' if dataset.drifted else '<span class="verdict ok">no dataset drift</span>'
    drifted = ", ".join(f"<code>{escape(c)}</code>" for c in dataset.drifted_columns) or "none"
    return (f'<h2 id="dataset">Dataset drift</h2><p>{verdict} {len(dataset.drifted_columns)} of {dataset.columns} features drifted: '
            f'share <strong class="share">{dataset.share:.1%}</strong>, threshold {dataset.threshold:.0%} (<code>monitor.drift_share</code>). '
            f"Drifted: {drifted}.</p>")  # fmt: skip


def _columns_table(report: MonitorReport) -> str:
    heads = ("column", "method", "statistic", "threshold", "threshold source", "verdict")
    rows = []
    for i, r in enumerate(report.drift):
        link = f'<a href="#column-{i}">{escape(r.column)}</a>'
        rows.append((_Raw(link), r.method.value, _number(r.statistic), _number(r.threshold), report.sources.get(r.column), _verdict(r)))
    return '<h2 id="columns">Columns</h2>' + _table(heads, rows, numeric={2, 3}, css="columns")


def _column_section(index: int, result: DriftResult, report: MonitorReport, profile: Profile) -> str:
    reference = profile.features.get(result.column) or profile.predictions.get(result.column)
    sketch = report.sketches.get(result.column)
    facts = {
        "method": result.method.value, "statistic": _number(result.statistic), "threshold": _number(result.threshold),
        "threshold source": report.sources.get(result.column), "verdict": _verdict(result), "current values": f"{result.n:,}",
    }  # fmt: skip
    if reference is not None:
        facts["kind"] = reference.kind
        facts["null share (reference)"] = f"{reference.null_share:.2%}"
    if sketch is not None and sketch.n + sketch.nulls:
        facts["null share (current)"] = f"{sketch.nulls / (sketch.n + sketch.nulls):.2%}"
    breached = sorted({v.check + (f" ({v.chunk})" if v.chunk else "") for v in report.violations if v.feature == result.column})
    if breached:
        facts["breached checks"] = ", ".join(breached)
    items = "".join(f"<dt>{escape(key)}</dt><dd>{escape(str(value))}</dd>" for key, value in facts.items())
    plot = distribution_svg(reference, sketch) if reference is not None else '<p class="muted">not in the reference profile</p>'
    trend = _trend(result.column, report)
    css = "column drifted" if result.drifted or breached else "column"
    return (f'<section class="{css}" id="column-{index}" data-column="{escape(result.column)}"><h3>{escape(result.column)}</h3>'
            f'<dl class="about">{items}</dl><div class="plot">{plot}</div>{trend}</section>')  # fmt: skip


def _trend(column: str, report: MonitorReport) -> str:
    points = [
        TrendPoint(chunk.label, r.statistic, r.threshold, r.drifted, r.method.value) for chunk in report.chunks for r in chunk.drift if r.column == column
    ]
    if not points:
        return ""
    return f'<div class="trend"><p class="muted">Per chunk: the statistic (points) against its threshold (dashed)</p>{trend_svg(points)}</div>'


def _missing(report: MonitorReport) -> str:
    if not report.missing:
        return ""
    names = ", ".join(f"<code>{escape(name)}</code>" for name in report.missing)
    return f'<h2 id="missing">Missing columns</h2><p>In the reference profile, not in the current data: {names}.</p>'


def _chunks(report: MonitorReport) -> str:
    if not report.chunks:
        return ""
    heads = ("chunk", "start", "end", "rows", "drifted columns")
    rows = [(c.label, c.start, c.end, f"{c.rows:,}", ", ".join(r.column for r in c.drift if r.drifted) or "none") for c in report.chunks]
    return '<h2 id="chunks">Time chunks</h2>' + _table(heads, rows, numeric={3}, css="chunks")


class _Raw(str):
    """Markup made here (already escaped), put in a cell as it is."""


def _table(heads: Sequence[str], rows: Iterable[Sequence[Any]], *, numeric: set[int], css: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in heads)
    body = "".join("<tr>" + "".join(f"<td{' class=num' if i in numeric else ''}>{_cell(value)}</td>" for i, value in enumerate(row)) + "</tr>" for row in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _cell(value: Any) -> str:
    if isinstance(value, _Raw):
        return str(value)
    return "—" if value is None else escape(str(value))


def _number(value: float | None) -> str | None:
    return None if value is None else f"{value:.4g}"


def _verdict(result: DriftResult) -> str:
    return "drift" if result.drifted else "ok"


__all__ = ["REPORT", "render_report", "write_report"]
