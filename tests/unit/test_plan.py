"""The Plan types, the planner and its renderings."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError, dataclass
from pathlib import Path
from typing import ClassVar

import pytest
from rich.console import Console

from hydraops import Action, Effect, Plan, build_plan, load_spec
from hydraops.plan import RunContext
from hydraops.plan.explain import plan_json, plan_summary, plan_tree
from tests.conftest import PROJECTS, copy_project


@dataclass(frozen=True, kw_only=True)
class Read(Action):
    stage: ClassVar[str] = "data"
    source: str

    @property
    def name(self) -> str:
        return f"source {self.source}"

    @property
    def inputs(self) -> tuple[str, ...]:
        return (f"{self.source}.parquet",)


@dataclass(frozen=True, kw_only=True)
class Compute(Action):
    stage: ClassVar[str] = "features"
    view: str

    @property
    def name(self) -> str:
        return f"materialize {self.view}"

    @property
    def inputs(self) -> tuple[str, ...]:
        return ("a",)

    @property
    def outputs(self) -> tuple[str, ...]:
        return (f"store/{self.view}",)


def sample() -> Plan:
    return Plan(
        "demo",
        (
            Read(source="a", effect=Effect.check, notes=("1 file",)),
            Compute(view="v", effect=Effect.create),
            Read(source="b", effect=Effect.skip),
        ),
    )


def plan_of(project: Path, stages: list[str] | None = None, overrides: list[str] | None = None) -> Plan:
    spec = load_spec(project, overrides or [])
    return build_plan(spec, RunContext.create(spec), stages)


def test_plan_is_frozen_and_ordered() -> None:
    plan = sample()
    with pytest.raises(FrozenInstanceError):
        plan.project = "other"  # type: ignore[misc]
    assert plan.stages == ["data", "features"]
    assert [a.name for a in plan.stage("data")] == ["source a", "source b"]
    assert plan.changes == [plan.actions[1]]


def test_json_round_trip() -> None:
    data = json.loads(plan_json(sample()))
    assert data["project"] == "demo"
    assert data["actions"][1] == {
        "type": "Compute", "stage": "features", "name": "materialize v", "effect": "create",
        "inputs": ["a"], "outputs": ["store/v"], "details": [], "data": {"view": "v"},
    }  # fmt: skip


def test_tree_and_summary() -> None:
    console = Console(record=True, width=120)
    console.print(plan_tree(sample()))
    text = console.export_text()
    assert "plan for project demo" in text and "+ create materialize v" in text and "out: store/v" in text
    assert plan_summary(sample()) == "1 to create, 1 to check, 1 to skip"


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
        plan_of(PROJECTS / "churn", ["deploy"])


def test_train_stage_on_churn() -> None:
    [run] = plan_of(PROJECTS / "churn", ["train"], ["debug=fast"]).actions
    assert run.effect is Effect.create and run.name == "run lightgbm in MLflow experiment churn, register a new version of churn"
    assert any("debug: at most 20000 rows" in d for d in run.details)
