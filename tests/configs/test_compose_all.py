"""Every option of every config group composes and converts; every experiment of every project validates."""

from __future__ import annotations

from pathlib import Path

import pytest

from hydraops import compose_project, load_spec, to_spec
from hydraops._resources import packaged_dir
from hydraops.config.names import MODELS
from hydraops.config.schemas import GROUPS, ProjectSpec, Task
from tests.conftest import PROJECTS

LIBRARY = packaged_dir("conf")
CHURN = PROJECTS / "churn"


def library_options() -> list[tuple[str, str]]:
    return sorted((path.parent.name, path.stem) for path in LIBRARY.glob("*/*.yaml") if path.parent.name in GROUPS)


def project_experiments() -> list[tuple[Path, str]]:
    return sorted((path.parents[2], path.stem) for path in PROJECTS.glob("*/conf/experiment/*.yaml"))


def test_every_group_has_a_schema_field_and_options() -> None:
    fields = set(ProjectSpec.__dataclass_fields__)
    for group in GROUPS:
        assert group in fields
    groups_with_options = {group for group, _ in library_options()}
    assert groups_with_options == set(GROUPS), "each group ships at least one option in conf/"


def task_of(group: str, option: str) -> list[str]:
    """The task choice an option needs: task=regression for a regression-only model and for evaluate=regression."""
    regression_model = group == "model" and MODELS[option].estimators and Task.classification not in MODELS[option].estimators
    return ["task=regression"] if regression_model or (group, option) == ("evaluate", "regression") else []


@pytest.mark.parametrize(("group", "option"), library_options())
def test_library_option_composes_converts_and_validates_on_the_churn_project(group: str, option: str) -> None:
    """Every option composes, converts to its schema and passes every check on churn (a regression one with
    task=regression, which is all it takes)."""
    # Without a feature store there are no labels to take a time column from: split at random.
    extra = ["split=random"] if (group, option) == ("features", "none") else []
    spec = load_spec(CHURN, [f"{group}={option}", *task_of(group, option), *extra])
    assert isinstance(spec, ProjectSpec)
    assert getattr(spec, group) is not None


@pytest.mark.parametrize("task", [path.stem for path in sorted((LIBRARY / "task").glob("*.yaml"))])
@pytest.mark.parametrize("model", sorted(MODELS))
def test_the_task_alone_chooses_model_task_evaluate_and_gates(task: str, model: str) -> None:
    """``task=...`` is the one edit: model.task, the evaluate option and churn's gates (gates/<task>.yaml) follow."""
    if MODELS[model].estimators and Task(task) not in MODELS[model].estimators:
        pytest.skip(f"{model} does not do {task}")
    spec = load_spec(CHURN, [f"task={task}", f"model={model}"])
    assert spec.model.task is spec.evaluate.task is Task(task)
    assert spec.evaluate.metrics == to_spec(compose_project(CHURN, [f"evaluate={task}", f"task={task}"])).evaluate.metrics
    gate_metrics = {gate.metric for gate in spec.registry.gates if gate.metric}
    assert gate_metrics and gate_metrics <= set(spec.evaluate.metrics), gate_metrics
    assert spec.evaluate.primary_metric in gate_metrics


def test_library_gates_follow_the_task() -> None:
    """Without the project's own gates (``~gates``), the library's compare evaluate.primary_metric."""
    spec = load_spec(CHURN, ["task=regression", "~gates"])
    assert [gate.metric for gate in spec.registry.gates if gate.metric] == ["rmse"]


def test_every_model_name_has_an_option() -> None:
    assert {stem for group, stem in library_options() if group == "model"} == set(MODELS)


@pytest.mark.parametrize(("project", "experiment"), project_experiments(), ids=lambda v: getattr(v, "name", v))
def test_experiment_validates(project: Path, experiment: str) -> None:
    spec = load_spec(project, [f"experiment={experiment}"])
    assert spec.project


@pytest.mark.parametrize("project", sorted(p.parent.parent for p in PROJECTS.glob("*/conf/config.yaml")))
def test_project_validates_with_debug_and_search(project: Path) -> None:
    spec = load_spec(project, ["debug=fast", "hparams_search=grid"])
    assert spec.debug is not None and spec.debug.max_rows
    assert spec.hparams_search is not None
