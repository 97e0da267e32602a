"""The Plan types, the planner and its renderings."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest
from rich.console import Console

from hydraops import Effect, Plan, RunContext, build_plan, load_spec
from hydraops.plan.explain import plan_json, plan_summary, plan_tree
from hydraops.registry.stage import Rollback
from hydraops.training.stage import TrainRun
from tests.conftest import PROJECTS, copy_project


def sample() -> Plan:
    run = {"model": "lightgbm", "experiment": "demo", "registered_model": "demo", "inputs_digest": "abc", "tracking": "sqlite:///x.db"}
    return Plan(
        "demo",
        (
            TrainRun(effect=Effect.create, **run, notes=("1 file",)),
            Rollback(effect=Effect.update, model="demo", version="1", moves=(("champion", "1"),), registry="sqlite:///x.db"),
            TrainRun(effect=Effect.skip, **run),
        ),
    )


def plan_of(project: Path, overrides: list[str] | None = None, stages: list[str] | None = None) -> Plan:
    spec = load_spec(project, overrides or [])
    return build_plan(spec, RunContext.create(spec), stages)


def test_plan_is_frozen_and_ordered() -> None:
    plan = sample()
    with pytest.raises(FrozenInstanceError):
        plan.project = "other"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        plan.actions[0].model = "other"  # type: ignore[misc]
    assert plan.stages == ["train", "registry"]
    assert [a.effect for a in plan.stage("train")] == [Effect.create, Effect.skip]
    assert plan.changes == list(plan.actions[:2])


def test_json_round_trip() -> None:
    data = json.loads(plan_json(sample()))
    assert data["project"] == "demo"
    assert data["actions"][1] == {
        "type": "Rollback", "stage": "registry", "name": "roll demo back to v1", "effect": "update",
        "inputs": [], "outputs": ["sqlite:///x.db"], "details": [],
        "data": {"model": "demo", "version": "1", "moves": [["champion", "1"]], "registry": "sqlite:///x.db"},
    }  # fmt: skip


def test_tree_and_summary() -> None:
    console = Console(record=True, width=140)
    console.print(plan_tree(sample()))
    text = console.export_text()
    assert "plan for project demo" in text and "+ create run lightgbm in MLflow experiment demo" in text and "out: sqlite:///x.db" in text
    assert plan_summary(sample()) == "1 to create, 1 to update, 1 to skip"


def test_planner_on_churn(tmp_path: Path) -> None:
    project = copy_project("churn", tmp_path / "churn")
    plan = plan_of(project)
    assert plan.project == "churn"
    assert [a.name for a in plan.stage("data")] == [f"source {s}" for s in ("customers", "transactions", "tickets", "labels")]
    assert all("no file matches yet" in a.details[0] for a in plan.stage("data"))
    assert all("no file matches" in a.details[0] for a in plan.stage("features") if a.name.startswith("materialize"))
    (project / "data").mkdir()
    (project / "data" / "tickets.parquet").write_bytes(b"x" * 2_000_000)
    tickets = next(a for a in plan_of(project).actions if a.name == "source tickets")
    assert tickets.details[0] == "1 file, 2.0 MB"
    assert tickets.inputs == (str(project / "data" / "tickets.parquet"),)


def test_unknown_stage_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown stage"):
        plan_of(PROJECTS / "churn", stages=["deploy"])


def test_train_stage_on_churn(tmp_path: Path) -> None:
    project = copy_project("churn", tmp_path / "churn")
    (run,) = plan_of(project, ["debug=fast"], stages=["train"]).actions
    assert run.effect is Effect.check and run.name == "run lightgbm in MLflow experiment churn, register a new version of churn"
    assert any("debug: at most 20000 rows" in d for d in run.details)
    assert any("inputs not readable yet" in d for d in run.details)  # no data generated: it cannot train, and says why


def test_consecutive_concurrent_actions_run_at_once_and_report_in_plan_order(monkeypatch) -> None:
    import threading
    from dataclasses import dataclass
    from typing import ClassVar

    from hydraops.plan import executor
    from hydraops.plan.model import Action, Outcome, Result

    @dataclass(frozen=True, kw_only=True)
    class Step(Action):
        concurrent: ClassVar[bool] = True
        n: int

    met, ran = threading.Barrier(3), []

    def carry_out(action: Step, ctx) -> Result:
        met.wait(timeout=10)  # all three are running at once, or this breaks
        if action.n == 1:
            raise ValueError("step 1 failed")
        ran.append(action.n)
        return Result(action, Outcome.done, f"step {action.n}")

    monkeypatch.setattr(executor, "handler", lambda kind: carry_out)
    steps = tuple(Step(effect=Effect.create, n=n) for n in range(3))
    seen: list[str] = []
    with pytest.raises(ValueError, match="step 1 failed"):
        executor.apply(Plan("demo", steps), None, on_result=lambda r: seen.append(r.summary))
    assert seen == ["step 0"] and sorted(ran) == [0, 2]  # the failure comes in plan order, once all are done

    met.reset()
    monkeypatch.setattr(executor, "handler", lambda kind: lambda action, ctx: (met.wait(timeout=10), Result(action, Outcome.done, f"step {action.n}"))[1])
    results = executor.apply(Plan("demo", (*steps, Step(effect=Effect.skip, n=3))), None)
    assert [r.summary for r in results] == ["step 0", "step 1", "step 2", "up to date"]
