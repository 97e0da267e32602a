"""The HTML report: self-contained (no network at view time), a section per column with its distribution plot
and per-chunk trend, the violations of any kind with their breach ids, every name escaped."""

from __future__ import annotations

import dataclasses
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hydraops.config.schemas import MonitorSpec
from hydraops.monitoring.check import ChunkReport, MonitorReport, Violation, breach_ids, check_file, write_violations
from hydraops.monitoring.drift import column_drift
from hydraops.monitoring.profile import Profile, build_profile
from hydraops.monitoring.report_html import render_report, write_report
from hydraops.monitoring.sketch import Sketch
from hydraops.testing.drift_data import sample

NASTY = '<script>alert("x")</script> & co'  # a column name that must come out as text
COLUMNS = ["normal", "exponential", "plan", "region", "counts"]
ABOUT = {"model": "churn", "version": "3", "current": "/data/last <week>.parquet", "when": "2026-11-30T08:00:00+00:00"}


def frame(n: int, rng: np.random.Generator, shift: dict | None = None) -> pd.DataFrame:
    return sample(COLUMNS, n, rng, shift=shift).rename(columns={"region": NASTY})


@pytest.fixture(scope="module")
def profile() -> Profile:
    rng = np.random.default_rng(5)
    return build_profile(frame(30_000, rng), pd.DataFrame({"prediction": rng.beta(2, 5, 10_000)}))


@pytest.fixture(scope="module")
def report(profile: Profile, tmp_path_factory: pytest.TempPathFactory) -> MonitorReport:
    """Drift of ``normal`` and an unseen category; three time chunks; a violation of a kind the check does not
    make (another stage's), in a chunk; a missing column."""
    rng = np.random.default_rng(6)
    current = frame(4_000, rng, shift={"normal": 0.6})
    current.loc[:300, NASTY] = "<b>new</b>"
    current["prediction"] = rng.beta(2, 5, 4_000)
    path = tmp_path_factory.mktemp("report") / "current.parquet"
    current.drop(columns=["counts"]).to_parquet(path)
    whole = check_file(profile, path, MonitorSpec(report_dir="r"))
    parts = [current.iloc[start : start + 1_500] for start in (0, 1_500, 3_000)]
    chunks = [
        ChunkReport(f"2026-11-2{i}", f"2026-11-2{i}T00:00:00", f"2026-11-2{i + 1}T00:00:00", len(part),
                    [column_drift(profile.column(r.column), Sketch.of(profile.column(r.column), part[r.column])) for r in whole.drift])
        for i, part in enumerate(parts)
    ]  # fmt: skip
    extra = Violation("null_share", NASTY, None, 0.2, 0.05, "monitor.columns.x", "2026-11-21")
    return dataclasses.replace(whole, chunks=chunks, violations=[*whole.violations, extra])


class Page(HTMLParser):
    """What the tests look at: column sections, table rows by table class, links and sources, tags seen."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.sections: dict[str, list[str]] = {}  # data-column -> tags inside it
        self.headings: list[str] = []
        self.rows: dict[str, list[list[str]]] = {}
        self.urls: list[str] = []
        self._section: str | None = None
        self._table: str | None = None
        self._body = False
        self._cell: list[str] | None = None
        self._h3: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append(tag)
        self.urls += [value or "" for key, value in attrs if key in ("src", "href", "action", "xlink:href", "data")]
        if tag == "section":
            self._section = found.get("data-column")
            self.sections[self._section or ""] = []
        elif self._section is not None:
            self.sections[self._section].append(tag)
        if tag == "table":
            self._table = found.get("class")
            self.rows.setdefault(self._table or "", [])
        elif tag == "tbody" and self._table is not None:
            self._body = True
        elif tag == "tr" and self._body:
            self.rows[self._table or ""].append([])
        elif tag == "td":
            self._cell = []
        elif tag == "h3":
            self._h3 = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self._section = None
        elif tag == "table":
            self._table, self._body = None, False
        elif tag == "td" and self._cell is not None and self._body:
            self.rows[self._table][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "h3" and self._h3 is not None:
            self.headings.append("".join(self._h3))
            self._h3 = None

    def handle_data(self, data: str) -> None:
        for part in (self._cell, self._h3):
            if part is not None:
                part.append(data)


def test_every_column_has_a_section_with_its_plot_and_trend(report: MonitorReport, profile: Profile) -> None:
    page = Page(render_report(report, profile, ABOUT))
    columns = [r.column for r in report.drift]
    assert NASTY in columns and "prediction" in columns
    assert set(page.sections) == set(columns) and page.headings == columns
    for column in columns:
        assert page.sections[column].count("svg") == 2, column  # the distribution, the trend
    assert "rect" in page.sections[NASTY] and "path" in page.sections["normal"]  # categorical bars, numeric densities
    [data_row] = [row for row in page.rows["columns"] if row[0] == "normal"]
    assert data_row[1:] == ["wasserstein", f"{report.drift[0].statistic:.4g}", "0.1", "hydraops default", "drift"]
    assert [row[0] for row in page.rows["chunks"]] == ["2026-11-20", "2026-11-21", "2026-11-22"]


def test_violations_of_any_kind_are_rows_with_their_breach_ids(report: MonitorReport, profile: Profile, tmp_path: Path) -> None:
    import json

    page = Page(render_report(report, profile, ABOUT))
    rows = page.rows["violations"]
    written = json.loads(write_violations(report, tmp_path / "violations.json", **ABOUT).read_text())["violations"]
    assert len(rows) == len(report.violations) == len(written) >= 4
    for row, v, entry in zip(rows, report.violations, written, strict=True):
        assert row[:5] == [entry["id"], v.check, v.feature or "—", v.chunk or "—", v.method or "—"]
        assert row[5:] == [
            f"{v.value:.4g}" if v.value is not None else "—",
            f"{v.threshold:.4g}" if v.threshold is not None else "—",
            v.threshold_source or "—",
        ]
    assert {row[1] for row in rows} >= {"data_drift", "dataset_drift", "missing_column", "null_share"}  # and the quality checks the data breaks
    assert breach_ids(report, **ABOUT) == [entry["id"] for entry in written]


def test_self_contained_and_escaped(report: MonitorReport, profile: Profile) -> None:
    text = render_report(report, profile, ABOUT)
    page = Page(text)
    assert "http://" not in text and "https://" not in text
    assert all(url.startswith("#") for url in page.urls) and page.urls
    assert not {"script", "link", "img", "iframe", "object"} & set(page.tags)
    assert "<b>new</b>" not in text and NASTY not in text and "&lt;script&gt;" in text
    assert "last &lt;week&gt;.parquet" in text


def test_no_chunks_no_trend_and_a_report_without_breach(profile: Profile, tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    path = tmp_path / "current.csv"
    frame(2_000, rng).to_csv(path, index=False)
    report = check_file(profile, path, MonitorSpec(report_dir="r"))
    assert not report.breached and not report.chunks
    page = Page(write_report(report, profile, tmp_path / "out" / "report.html", **ABOUT).read_text())
    assert all(tags.count("svg") == 1 for tags in page.sections.values()) and "chunks" not in page.rows
    assert "violations" not in page.rows and "OK: no check breached" in (tmp_path / "out" / "report.html").read_text()


def test_the_terminal_summary_names_every_column_each_breached_kind_and_the_files(report: MonitorReport, profile: Profile) -> None:
    from rich.console import Console

    from hydraops.cli.monitor_verb import show_outcome
    from hydraops.monitoring.stage import Monitored

    out = Console(record=True, width=200)
    show_outcome(out, Monitored(report, Path("/r/violations.json"), Path("/r/report.html"), "abc123", tuple(breach_ids(report, **ABOUT))))
    text = out.export_text()
    for r in report.drift:
        assert any(
            line.startswith(f"│ {r.column} ") and r.method.value in line and line.rstrip().endswith(("drift   │", "ok      │")) for line in text.splitlines()
        ), r.column
    assert f"breached data_drift: 2 (normal, {NASTY})" in text and f"breached null_share: 1 ({NASTY} [2026-11-21])" in text
    assert "breached missing_column: 1 (counts)" in text and "breached dataset_drift: 1 (dataset)" in text
    assert "report: /r/report.html\nviolations: /r/violations.json\nmonitoring run: abc123" in text


def test_numeric_plots_show_values_beyond_the_range_and_integers_on_their_own_bins() -> None:
    from hydraops.monitoring.plots import _display_groups, distribution_svg

    rng = np.random.default_rng(9)
    reference = build_profile(pd.DataFrame({"visits": rng.poisson(3, 20_000), "amount": rng.normal(0, 1, 20_000)}))
    current = pd.Series(np.concatenate([rng.normal(0, 1, 800), np.full(150, -9.0), np.full(50, 9.0)]), name="amount")
    svg = distribution_svg(reference.features["amount"], Sketch.of(reference.features["amount"], current))
    assert "below the reference min: 150 (15.00%)" in svg and "above the reference max: 50 (5.00%)" in svg
    visits = reference.features["visits"]
    drawn = [visits.edges[i] for i in _display_groups(visits)]
    assert len(visits.edges) > len(drawn) and all(edge == int(edge) for edge in drawn) and drawn == sorted(set(drawn))
