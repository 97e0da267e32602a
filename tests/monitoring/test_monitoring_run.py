"""The monitor stage as a plan: each monitoring is an MLflow run in ``<project>-monitoring`` (tags, metrics,
violations.json and report.html as artifacts), on a real SQLite store, against a version whose training run
holds a profile (no training: the run and version are made with the client)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hydraops import load_spec
from hydraops.monitoring.check import breach_ids
from hydraops.monitoring.profile import ARTIFACT, build_profile
from hydraops.monitoring.stage import Monitored
from hydraops.plan import apply, build_plan
from hydraops.plan.context import RunContext
from hydraops.testing.drift_data import sample
from hydraops.tracking import tags as T
from tests.conftest import copy_project

COLUMNS = ["normal", "exponential", "region"]  # not "plan": the churn project declares 3 plans, drift_data has 10
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


pytestmark = pytest.mark.slow  # creating the MLflow store takes ~10 s on a busy machine: once for the file


@pytest.fixture(scope="module")
def churn(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project("churn", tmp_path_factory.mktemp("monitoring-run") / "churn")


@pytest.fixture(scope="module")
def ctx(churn: Path) -> RunContext:
    """The churn project's spec and store, with version 1 of its model registered from a run holding a profile."""
    spec = load_spec(churn)
    ctx = RunContext.create(spec, command="hydraops monitor current=current.parquet", now=NOW)
    client = ctx.tracking.client
    rng = np.random.default_rng(3)
    profile = build_profile(sample(COLUMNS, 20_000, rng), pd.DataFrame({"prediction": rng.beta(2, 5, 5_000)}))
    run = client.create_run(client.create_experiment(spec.project, artifact_location=spec.stack.artifact_location))
    client.log_text(run.info.run_id, profile.to_json(), ARTIFACT)
    client.set_terminated(run.info.run_id)
    client.create_registered_model(spec.registry.name)
    client.create_model_version(spec.registry.name, f"runs:/{run.info.run_id}/model", run.info.run_id)
    return ctx


def current(directory: Path, shift: dict | None = None) -> Path:
    frame = sample(COLUMNS, 3_000, np.random.default_rng(4), shift=shift)
    path = directory / f"current-{'drifted' if shift else 'same'}.parquet"
    frame.to_parquet(path)
    return path


def monitor(ctx: RunContext, path: Path) -> Monitored:
    plan = build_plan(ctx.spec, ctx, ["monitor"], {"monitor": {"current": path, "version": 1}})
    [action] = plan.actions
    assert action.outputs == (str(action.output), str(action.output.with_name("report.html")), f"an MLflow run in experiment {ctx.spec.project}-monitoring")
    [result] = apply(plan, ctx)
    assert isinstance(result.value, Monitored) and result.value.run_id in result.summary
    return result.value


def test_a_breach_is_a_run_with_its_tags_metrics_and_files(ctx: RunContext, churn: Path, tmp_path: Path) -> None:
    outcome = monitor(ctx, current(churn, shift={"normal": 0.5}))
    client = ctx.tracking.client
    run = client.get_run(outcome.run_id)
    assert client.get_experiment(run.info.experiment_id).name == f"{ctx.spec.project}-monitoring" and run.info.status == "FINISHED"
    written = json.loads(outcome.violations.read_text())
    ids = [entry["id"] for entry in written["violations"]]
    assert ids and ids == list(outcome.breach_ids) == breach_ids(outcome.report, **{k: written[k] for k in ("model", "version", "data", "source")})
    tags = run.data.tags
    assert tags[T.MONITORED_MODEL] == ctx.spec.registry.name and tags[T.MONITORED_VERSION] == "1" and tags[T.BREACHED] == "true"
    assert tags[T.BREACH_IDS].split(",") == ids and tags[T.COMMAND] == ctx.command and tags[T.CONFIG_DIGEST] == ctx.config_digest
    metrics = run.data.metrics
    statistic = next(r.statistic for r in outcome.report.drift if r.column == "normal")
    assert metrics["drift.normal"] == pytest.approx(statistic) and statistic >= 0.1
    assert metrics["dataset_drift_share"] == outcome.report.dataset.share and metrics["rows"] == 3_000
    assert metrics["violations"] == len(ids) and metrics["violations.data_drift"] >= 1
    assert {f.path for f in client.list_artifacts(outcome.run_id)} == {"violations.json", "report.html"}
    logged = Path(client.download_artifacts(outcome.run_id, "report.html", str(tmp_path))).read_text()
    assert logged == outcome.html.read_text() and outcome.run_id in logged and written["monitoring_run"] == outcome.run_id


def test_no_breach_is_a_run_too_and_dry_run_leaves_no_trace(ctx: RunContext, churn: Path) -> None:
    from hydraops.cli.acting import carry_out

    client = ctx.tracking.client

    def runs() -> list:
        experiment = client.get_experiment_by_name(f"{ctx.spec.project}-monitoring")
        return [] if experiment is None else client.search_runs([experiment.experiment_id])

    path, html = current(churn), Path(ctx.spec.monitor.report_dir) / "report.html"
    before, written = runs(), html.stat().st_mtime_ns if html.exists() else None
    carry_out(ctx, ["monitor"], {"monitor": {"current": path, "version": 1}}, dry_run=True)
    assert len(runs()) == len(before) and (html.stat().st_mtime_ns if html.exists() else None) == written
    outcome = monitor(ctx, path)
    run = client.get_run(outcome.run_id)
    assert len(runs()) == len(before) + 1 and outcome.html == html
    assert not outcome.breached, outcome.report.violations
    assert run.data.tags[T.BREACHED] == "false" and run.data.tags[T.BREACH_IDS] == ""
    assert run.data.metrics["violations"] == 0 and "OK: no check breached" in html.read_text()
