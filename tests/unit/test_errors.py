"""Errors carry their context as fields (key, path, column, hint), set by the code that raises them."""

from __future__ import annotations

import ast
import inspect
import pickle
from pathlib import Path

import pytest

import hydraops.errors
from hydraops import load_spec
from hydraops.errors import DataError, FeatureStoreError, TrainingError, UsageError
from tests.conftest import copy_project


@pytest.fixture(scope="module")
def churn(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The churn project without its data: composing its config is all these tests need."""
    return copy_project("churn", tmp_path_factory.mktemp("errors") / "churn")


@pytest.fixture(scope="module")
def repo(churn: Path):
    from hydraops.features import FeatureRepo

    return FeatureRepo.from_spec(load_spec(churn))


def test_an_unknown_view_names_its_key(repo) -> None:
    with pytest.raises(FeatureStoreError) as caught:
        repo.view("nosuch")
    assert caught.value.key == "features.views.nosuch" and "declared views: customer_profile" in str(caught.value)


def test_a_source_without_files_names_its_key_and_the_pattern(repo, churn: Path) -> None:
    with pytest.raises(DataError) as caught:
        repo.source_files("transactions")
    assert caught.value.key == "data.sources.transactions.path"
    assert caught.value.path == str(churn / "data" / "transactions.parquet") and caught.value.column is None


def test_a_missing_column_names_its_key_and_column(repo, churn: Path) -> None:
    import duckdb
    import pandas as pd

    from hydraops.features.sources import register_source

    (churn / "data").mkdir(exist_ok=True)
    pd.DataFrame({"transaction_id": [1], "customer_id": [1], "event_time": pd.to_datetime(["2025-01-01"])}).to_parquet(churn / "data" / "transactions.parquet")
    try:
        with pytest.raises(DataError) as caught:
            register_source(duckdb.connect(), repo, "transactions")
    finally:
        (churn / "data" / "transactions.parquet").unlink()
    assert (caught.value.key, caught.value.column) == ("data.sources.transactions.timestamp", "ts")


def test_a_missing_target_names_its_key_and_column(churn: Path) -> None:
    import pandas as pd

    from hydraops.training.split import split_table

    spec = load_spec(churn)
    frame = pd.DataFrame({"label_time": pd.to_datetime(["2025-01-01", "2025-02-01"]), "x": [1, 2]})
    with pytest.raises(TrainingError) as caught:
        split_table(frame, spec.split, time_column="label_time", target="churned", task=spec.model.task)
    assert (caught.value.key, caught.value.column) == ("features.labels.target", "churned")


def test_bad_parameters_name_the_first_one_and_hint_at_help() -> None:
    from hydraops.cli import VERBS

    with pytest.raises(UsageError) as caught:
        VERBS["promote"][1](["version=abc", "dry_run=maybe"])  # parsed before Hydra runs: no project needed
    assert caught.value.key == "version" and caught.value.exit_code == 2
    assert caught.value.hint == "`hydraops promote --help` lists its parameters"
    assert str(caught.value).endswith("\nhint: `hydraops promote --help` lists its parameters")


def test_the_fields_survive_pickling() -> None:
    """A launcher's worker process sends a job's error back pickled."""
    error = pickle.loads(pickle.dumps(DataError("bad", key="data.sources.x.path", path="/x", column="c", hint="fix it")))
    assert (error.key, error.path, error.column, error.hint) == ("data.sources.x.path", "/x", "c", "fix it")
    assert str(error) == "bad\nhint: fix it"


def test_every_error_class_of_the_package_is_in_hydraops_errors() -> None:
    """One hierarchy: no exception class is defined outside hydraops.errors (read from the source, not imported)."""
    package = Path(hydraops.errors.__file__).parent
    exceptions = {name for name, value in vars(hydraops.errors).items() if inspect.isclass(value) and issubclass(value, Exception)}
    elsewhere = []
    for path in package.rglob("*.py"):
        if path.name == "errors.py" and path.parent == package:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            bases = [getattr(base, "id", getattr(base, "attr", "")) for base in getattr(node, "bases", [])]
            if isinstance(node, ast.ClassDef) and any(base in exceptions or base.endswith(("Error", "Exception")) for base in bases):
                elsewhere.append(f"{path.relative_to(package)}: {node.name}")
    assert elsewhere == []
    assert exceptions <= set(hydraops.errors.__all__)
