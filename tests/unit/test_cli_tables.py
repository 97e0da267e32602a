"""What train and train -m print: the metrics table and the sweep leaderboard, rendered as text."""

from __future__ import annotations

import re

from rich.console import Console

from hydraops.cli.leaderboard import best_child_line, print_leaderboard
from hydraops.cli.metrics_table import metrics_table, worst_slice

NAMES = ["roc_auc", "pr_auc", "log_loss"]
#: Keys as training/evaluate.py writes them: overall per split, and per slice value of evaluate.slices.
METRICS = {
    "train.roc_auc": 0.91, "train.pr_auc": 0.62, "train.log_loss": 0.31,
    "valid.roc_auc": 0.83, "valid.pr_auc": 0.44, "valid.log_loss": 0.36,
    "test.roc_auc": 0.81, "test.pr_auc": 0.41, "test.log_loss": 0.37,
    "test.plan:basic.roc_auc": 0.78, "test.plan:premium.roc_auc": 0.86, "test.region:north.roc_auc": 0.74,
    "test.plan:basic.log_loss": 0.35, "test.plan:premium.log_loss": 0.42, "test.region:north.log_loss": 0.39,
    "valid.region:south.roc_auc": 0.5,  # another split's slice: not in the test column
}  # fmt: skip


def text(*renderables, width: int = 160) -> str:
    out = Console(record=True, width=width, color_system=None)
    for renderable in renderables:
        out.print(renderable)
    return out.export_text()


def rows(rendered: str) -> dict[str, list[str]]:
    """Table rows by their first cell, split on the box's column bars."""
    found = {}
    for line in rendered.splitlines():
        cells = [cell.strip() for cell in re.split("[│┃]", line.strip().strip("│┃"))]
        if len(cells) > 1 and cells[0]:
            found[cells[0]] = cells[1:]
    return found


def test_metrics_table_has_a_row_per_metric_and_a_column_per_split() -> None:
    table = rows(text(metrics_table(METRICS, NAMES, "roc_auc")))
    assert table["metric"] == ["train", "valid", "test", "worst test slice"]
    assert table["roc_auc"] == ["0.9100", "0.8300", "0.8100", "0.7400  region:north"]
    assert table["log_loss"] == ["0.3100", "0.3600", "0.3700", "0.4200  plan:premium"]  # a loss: the highest is worst
    assert table["pr_auc"] == ["0.6200", "0.4400", "0.4100", "-"]


def test_metrics_table_without_slices_or_splits() -> None:
    metrics = {"train.rmse": 1.5, "test.rmse": 2.25, "test.mae": 1.0}  # no validation split, r2 skipped
    table = rows(text(metrics_table(metrics, ["rmse", "mae", "r2"])))
    assert table["metric"] == ["train", "test"]
    assert table["rmse"] == ["1.5000", "2.2500"] and table["mae"] == ["-", "1.0000"] and table["r2"] == ["-", "-"]


def test_worst_slice_keeps_dots_in_values() -> None:
    metrics = {"test.score_band:0.5.rmse": 3.0, "test.score_band:1.5.rmse": 2.0, "test.rmse": 2.5}
    assert worst_slice(metrics, "test", "rmse") == ("score_band:0.5", 3.0)
    assert worst_slice(metrics, "valid", "rmse") is None


BOARD = {
    "metric": "valid.roc_auc",
    "direction": "maximize",
    "runs": [
        {"run_id": "b2", "run_name": "lightgbm model.num_leaves=31", "status": "FINISHED", "valid.roc_auc": 0.84},
        {"run_id": "a1", "run_name": "lightgbm model.num_leaves=15", "status": "FINISHED", "valid.roc_auc": 0.8},
        {"run_id": "c3", "run_name": "lightgbm model.num_leaves=63", "status": "FAILED", "valid.roc_auc": None},
    ],
}  # the dict tracking/sweep.py finish_sweep returns


def test_leaderboard_ranks_jobs_and_names_the_best_child() -> None:
    out = Console(record=True, width=160, color_system=None)
    print_leaderboard(BOARD, out)
    rendered = out.export_text()
    table = rows(rendered)
    assert table["1"] == ["lightgbm model.num_leaves=31", "0.8400", "FINISHED", "b2"]
    assert table["2"] == ["lightgbm model.num_leaves=15", "0.8000", "FINISHED", "a1"]
    assert table["-"] == ["lightgbm model.num_leaves=63", "-", "FAILED", "c3"]
    assert "sweep leaderboard (valid.roc_auc, maximize)" in rendered
    assert "best child: lightgbm model.num_leaves=31 (run b2), valid.roc_auc 0.8400" in rendered
    assert "promote it: hydraops promote" in rendered


def test_a_sweep_where_every_job_failed_has_no_best_child() -> None:
    board = {**BOARD, "runs": [BOARD["runs"][2]]}
    assert best_child_line(board) == "no best child: no job finished with valid.roc_auc (1 job(s))"
