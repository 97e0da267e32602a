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
    return sorted(
        (path.parent.name, path.stem) for path in LIBRARY.glob("*/*.yaml") if path.parent.name in GROUPS
    )


def project_experiments() -> list[tuple[Path, str]]:
    return sorted((path.parents[2], path.stem) for path in PROJECTS.glob("*/conf/experiment/*.yaml"))


def test_every_group_has_a_schema_field_and_options() -> None:
    fields = set(ProjectSpec.__dataclass_fields__)
    for group in GROUPS:
        assert group in fields
    groups_with_options = {group for group, _ in library_options()}
    assert groups_with_options == set(GROUPS), "each group ships at least one option in conf/"


@pytest.mark.parametrize(("group", "option"), library_options())
def test_library_option_composes_and_converts(group: str, option: str) -> None:
    overrides = [f"{group}={option}"]
    if group == "model" and Task.classification not in MODELS[option].estimators and MODELS[option].estimators:
        overrides.append("evaluate=regression")
    spec = to_spec(compose_project(CHURN, overrides))
    assert isinstance(spec, ProjectSpec)
    assert getattr(spec, group) is not None


@pytest.mark.parametrize(("group", "option"), library_options())
def test_library_option_validates_on_the_churn_project(group: str, option: str) -> None:
    """Options that make sense together with churn pass every check (regression ones need their partner)."""
    regression_model = group == "model" and Task.classification not in MODELS[option].estimators
    if regression_model and MODELS[option].estimators or (group, option) == ("evaluate", "regression"):
        pytest.skip("regression does not fit churn's binary target and its roc_auc gates")
    # Without a feature store there are no labels to take a time column from: split at random.
    extra = ["split=random"] if (group, option) == ("features", "none") else []
    load_spec(CHURN, [f"{group}={option}", *extra])


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
