"""Tracking building blocks against a real MLflow store (SQLite in a temp dir)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hydraops.config.schemas import StackSpec
from hydraops.features.online import SqliteOnlineStoreSpec
from hydraops.tracking.handle import Tracking
from hydraops.tracking.lineage import git_state, package_versions
from hydraops.tracking.params import MAX_PARAM_LENGTH, flatten, split_params
from hydraops.tracking.runs import TrackingError, ensure_experiment, tracked_run


def test_flatten_nested_config() -> None:
    flat = flatten({"model": {"num_leaves": 31, "features": ["a", "b"], "extra": {}}, "project": "churn", "x": None})
    assert flat == {"model.num_leaves": "31", "model.features": '["a", "b"]', "model.extra": "{}", "project": "churn", "x": "null"}


@given(st.dictionaries(st.text(min_size=1, max_size=5), st.text(max_size=MAX_PARAM_LENGTH * 2), max_size=6))
def test_split_params_never_loses_a_value(flat: dict[str, str]) -> None:
    short, long = split_params(flat)
    assert set(short) == set(flat)
    assert all(len(v) <= MAX_PARAM_LENGTH for v in short.values())
    assert all(flat[k] == v for k, v in long.items()) and all(len(flat[k]) > MAX_PARAM_LENGTH for k in long)
    assert all(short[k] == flat[k] for k in flat if k not in long)


def test_git_state(tmp_path: Path) -> None:
    assert git_state(tmp_path) == {}
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost"]
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "a.txt").write_text("1")
    subprocess.run(["git", "add", "a.txt"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "c"], cwd=tmp_path, check=True)
    state = git_state(tmp_path)
    assert len(state["mlflow.source.git.commit"]) == 40 and state["git.dirty"] == "false"
    (tmp_path / "a.txt").write_text("2")
    assert git_state(tmp_path)["git.dirty"] == "true"


def test_package_versions() -> None:
    versions = package_versions()
    assert versions["version.hydraops"] and versions["version.mlflow"]


def stack(tmp_path: Path, uri: str | None = None) -> StackSpec:
    return StackSpec(
        name="test", tracking_uri=uri or f"sqlite:///{tmp_path}/mlflow.db", artifact_location=str(tmp_path / "artifacts"),
        online_store=SqliteOnlineStoreSpec(path=str(tmp_path / "o.db")), bento_home=str(tmp_path),
    )  # fmt: skip


def test_runs_always_end_in_a_final_state(tmp_path: Path) -> None:
    import mlflow

    client = Tracking.of(stack(tmp_path)).client
    experiment = ensure_experiment(client, "demo", str(tmp_path / "artifacts"))
    assert ensure_experiment(client, "demo", None) == experiment
    with tracked_run(client, experiment, "ok", {"a": "1"}) as run:
        client.log_metric(run.info.run_id, "m", 1.0)
    with pytest.raises(ValueError), tracked_run(client, experiment, "boom", {}) as failed:
        raise ValueError("bad input")
    with pytest.raises(KeyboardInterrupt), tracked_run(client, experiment, "stop", {}) as killed:
        raise KeyboardInterrupt
    with pytest.raises(AttributeError), tracked_run(client, experiment, "turned", {}) as turned:
        try:  # a SIGTERM landing inside a library's code, which fails in its clean-up (OmegaConf does)
            raise KeyboardInterrupt("terminated (SIGTERM)")
        finally:
            raise AttributeError("'NoneType' object has no attribute '_invalidate_flags_cache'")
    assert client.get_run(run.info.run_id).info.status == "FINISHED"
    assert client.get_run(run.info.run_id).data.metrics == {"m": 1.0}
    assert client.get_run(run.info.run_id).data.tags["a"] == "1"
    failed_run = client.get_run(failed.info.run_id)
    assert failed_run.info.status == "FAILED" and failed_run.data.tags["hydraops.error"] == "ValueError: bad input"
    assert client.get_run(killed.info.run_id).info.status == "KILLED"
    turned_run = client.get_run(turned.info.run_id)
    assert turned_run.info.status == "KILLED" and turned_run.data.tags["hydraops.error"] == "terminated (SIGTERM)"
    assert mlflow.active_run() is None


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    import mlflow

    before = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    with pytest.raises(TrackingError, match=r"MLflow tracking server http://127.0.0.1:9 \(stack.tracking_uri\) is unreachable"):
        _ = Tracking.of(stack(tmp_path, "http://127.0.0.1:9")).client
    Tracking.of(stack(tmp_path)).client.search_experiments()
    assert (mlflow.get_tracking_uri(), mlflow.get_registry_uri()) == before, "a handle points nothing process-wide"
