"""``_target_`` is an estimator class: by name at ``validate`` (nothing imported), by object before training
builds anything; ``_args_``/``_partial_`` are refused. The issue's attack ran a function under ``sklearn.*``."""

from __future__ import annotations

from pathlib import Path

import pytest

from hydraops.config.names import is_allowed_target, target_problem
from hydraops.config.schemas import SklearnEstimatorSpec, Task
from hydraops.training.estimators import build_estimator
from hydraops.training.split import TrainingError


@pytest.mark.parametrize(
    "target",
    ["sklearn.ensemble.ExtraTreesClassifier", "sklearn.linear_model.LogisticRegression", "lightgbm.LGBMClassifier",
     "lightgbm.sklearn.LGBMRegressor", "sklearn.tree.DecisionTreeClassifier"],
)  # fmt: skip
def test_estimator_class_names_pass(target: str) -> None:
    assert target_problem(target) is None and is_allowed_target(target)


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("sklearn.utils._testing.assert_run_python_script_without_output", "private module '_testing'"),
        ("sklearn.utils.check_array", "'check_array' is not a class name"),
        ("sklearn._config.Anything", "private module '_config'"),
        ("os.system", "package 'os'"),
        ("sklearnx.Evil", "package 'sklearnx'"),
        ("hydraops.cli.sweep.MlflowSweepCallback", "package 'hydraops'"),
        ("sklearn.ensemble.${oc.env:X}", "module name '${oc'"),
        ("LGBMClassifier", "expected an estimator class"),
        (None, "expected an estimator class"),
    ],
)  # fmt: skip
def test_other_names_are_refused_without_importing(target: object, says: str) -> None:
    problem = target_problem(target)
    assert problem is not None and says in problem, problem


def model(estimator: dict) -> SklearnEstimatorSpec:
    return SklearnEstimatorSpec(name="sklearn", task=Task.classification, seed=1, estimator=estimator)


def test_the_attack_runs_nothing_at_training(tmp_path: Path) -> None:
    """Even if validate were skipped: the object is checked before anything is built or called."""
    marker = tmp_path / "pwned"
    attack = {"_target_": "sklearn.utils._testing.assert_run_python_script_without_output", "_args_": [f"open('{marker}', 'w')"]}
    with pytest.raises(TrainingError, match=r"model\.estimator\._target_: .*private module '_testing'"):
        build_estimator(model(attack), categorical=[])
    assert not marker.exists()


@pytest.mark.parametrize(
    ("estimator", "message"),
    [
        ({"_target_": "sklearn.utils.Bunch"}, r"model\.estimator\._target_: 'sklearn\.utils\.Bunch' is not allowed: not an estimator class"),
        ({"_target_": "sklearn.utils.parallel.Parallel"}, r"'sklearn\.utils\.parallel\.Parallel' is not allowed: not an estimator class"),
        ({"_target_": "sklearn.ensemble.ExtraTreesClassifier", "_args_": [3]}, r"model\.estimator\._args_: not allowed"),
        ({"_target_": "sklearn.ensemble.BaggingClassifier", "estimator": {"_target_": "sklearn.tree.DecisionTreeClassifier", "_partial_": True}},
         r"model\.estimator\.estimator\._partial_: not allowed"),
        ({"_target_": "sklearn.ensemble.BaggingClassifier", "estimator": {"_target_": "sklearn.utils.Bunch"}},
         r"model\.estimator\.estimator\._target_: 'sklearn\.utils\.Bunch' is not allowed: not an estimator class"),
    ],
)  # fmt: skip
def test_non_estimators_and_instantiate_keys_are_refused(estimator: dict, message: str) -> None:
    with pytest.raises(TrainingError, match=message):
        build_estimator(model(estimator), categorical=[])


def test_nested_estimator_classes_are_built() -> None:
    built = build_estimator(
        model({"_target_": "sklearn.ensemble.BaggingClassifier", "n_estimators": 3, "estimator": {"_target_": "sklearn.tree.DecisionTreeClassifier", "max_depth": 2}}),
        categorical=[],
    )  # fmt: skip
    inner = built.named_steps["model"]
    assert type(inner).__name__ == "BaggingClassifier" and type(inner.estimator).__name__ == "DecisionTreeClassifier"
