"""The labels source as users declare it: a DuckDB query over other sources, and its declared column checks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import Run, generated_churn

pytestmark = [pytest.mark.slow, pytest.mark.in_process]
CUSTOMERS = 150


def labels_as_query(project: Path) -> Path:
    """Redeclare the project's labels source as a query over the labels file, now the source ``raw_labels``."""
    config_path = project / "conf" / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    sources = config["data"]["sources"]
    sources["raw_labels"] = {"path": sources["labels"]["path"], "timestamp": "label_time"}
    sources["labels"] = {"query": "SELECT * FROM raw_labels", "timestamp": "label_time", "columns": sources["labels"]["columns"]}
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return project


@pytest.fixture
def query_labels(tmp_path: Path) -> Path:
    return labels_as_query(generated_churn(tmp_path / "churn", CUSTOMERS))


def test_train_reads_a_query_labels_source(query_labels: Path, hydraops: Run) -> None:
    """Its digest is that of the files its query reads: plan shows the run, train runs it, then it is up to date."""
    planned = hydraops("plan", "debug=fast", cwd=query_labels)
    assert planned.returncode == 0, planned.stderr
    assert "create run lightgbm" in planned.stdout
    trained = hydraops("train", "debug=fast", cwd=query_labels)
    assert trained.returncode == 0, trained.stderr
    again = hydraops("plan", "debug=fast", cwd=query_labels)
    assert again.returncode == 0, again.stderr
    assert "= skip run lightgbm" in again.stdout  # its inputs digest (the query's files) is the one recorded


def test_training_table_refuses_nulls_in_a_label_column_declared_not_nullable(query_labels: Path, hydraops: Run) -> None:
    """A DataError naming the source, the column, the check and the count; no table written."""
    labels_file = query_labels / "data" / "labels.parquet"
    labels = pd.read_parquet(labels_file)
    labels["churned"] = labels["churned"].astype("Int64")
    labels.loc[[3, 7], "churned"] = None
    labels.to_parquet(labels_file)
    assert hydraops("features", "materialize", cwd=query_labels).returncode == 0
    result = hydraops("features", "training-table", cwd=query_labels)
    assert result.returncode == 2, result.stdout + result.stderr
    message = result.stdout + result.stderr
    assert "source 'labels'" in message
    assert "column 'churned' failed not_nullable on 2 value(s)" in message
    trained = hydraops("train", "debug=fast", cwd=query_labels)  # the same error, before the MLflow store exists
    assert trained.returncode == 2 and "column 'churned' failed not_nullable" in trained.stdout + trained.stderr
    assert not (query_labels / "artifacts" / "mlflow.db").exists()
    warned = hydraops("train", "debug=fast", "features.validation=warn", cwd=query_labels)  # checks only warn: train still refuses
    assert warned.returncode == 2, warned.stdout + warned.stderr
    assert "the target column 'churned' (features.labels.target)" in warned.stdout + warned.stderr and "2 null value(s)" in warned.stdout + warned.stderr
