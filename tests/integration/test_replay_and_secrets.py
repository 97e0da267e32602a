"""A real training run on MLflow (SQLite): its logs hold no secret; ``reproduce`` replays only the overrides
the run recorded, checked like the command line's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Run, copy_project

pytestmark = pytest.mark.slow
PASSWORD, TOKEN = "hunter2-password-in-a-url", "s3cr3t-token-from-the-environment"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, subprocess.CompletedProcess]:
    """The churn project with a password in a URL (YAML) and a value from the environment, trained once."""
    from tests.conftest import HYDRAOPS

    project = copy_project("churn", tmp_path_factory.mktemp("replay") / "churn")
    subprocess.run([sys.executable, "generate_data.py", "--customers", "300"], cwd=project, check=True, capture_output=True)
    config = project / "conf" / "config.yaml"
    text = config.read_text().replace("  - override features: churn", "  - override features: churn\n  - override stack/online_store: redis")
    config.write_text(text + (
        f"\nstack:\n  online_store:\n    url: redis://:{PASSWORD}@127.0.0.1:6379/0\n    key_prefix: ${{oc.env:CHURN_TOKEN}}\n"
    ))  # fmt: skip
    env = {k: v for k, v in __import__("os").environ.items() if k != "HYDRA_FULL_ERROR"} | {"CHURN_TOKEN": TOKEN}
    result = subprocess.run([HYDRAOPS, "train", "debug=fast", "model.num_leaves=7"],
                            cwd=project, capture_output=True, text=True, env=env, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    [run] = _runs(project)
    return project, run.info.run_id, result


def _client(project: Path):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{project}/artifacts/mlflow.db"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _runs(project: Path) -> list:
    client = _client(project)
    return client.search_runs([client.get_experiment_by_name("churn").experiment_id], order_by=["start_time ASC"])


def _artifacts(project: Path, run_id: str) -> Path:
    """The run's artifact folder on disk (the embedded stack keeps them under artifacts/mlartifacts)."""
    return Path(_client(project).get_run(run_id).info.artifact_uri.removeprefix("file://"))


def test_no_secret_in_params_tags_artifacts_or_output(trained: tuple[Path, str, subprocess.CompletedProcess]) -> None:
    project, run_id, result = trained
    run = _client(project).get_run(run_id)
    logged = [result.stdout, result.stderr, json.dumps(run.data.params), json.dumps(run.data.tags), run.info.run_name]
    logged += [path.read_text() for path in _artifacts(project, run_id).rglob("*") if path.suffix in (".yaml", ".json")]
    assert len(logged) > 8
    for text in logged:
        assert PASSWORD not in text and TOKEN not in text
    assert run.data.params["stack.online_store.url"] == "redis://:***@127.0.0.1:6379/0"
    assert run.data.params["stack.online_store.key_prefix"] == "${oc.env:CHURN_TOKEN}"


def test_reproduce_refuses_a_tampered_override_file(trained: tuple[Path, str, subprocess.CompletedProcess], hydraops: Run) -> None:
    """The issue's attack: an override appended to config/overrides.json ran code and "reproduced"."""
    project, run_id, _ = trained
    marker = project / "pwned"
    recorded = _artifacts(project, run_id) / "config" / "overrides.json"
    original = recorded.read_text()
    attack = f"+hydra.callbacks.x={{_target_:sklearn.utils._testing.assert_run_python_script_without_output,source_code:\"open('{marker}','w')\"}}"
    recorded.write_text(json.dumps([*json.loads(original), attack], indent=2))
    runs = len(_runs(project))
    try:
        tampered = hydraops("reproduce", run_id, cwd=project, env={"CHURN_TOKEN": TOKEN})
        assert tampered.returncode == 2, tampered.stdout + tampered.stderr
        assert f"<config> (run {run_id} config/overrides.json): the file does not match the run's hydraops.overrides_digest" in tampered.stderr
        # Whoever can also rewrite the run's tag still cannot replay a Hydra setting.
        import hashlib

        _client(project).set_tag(run_id, "hydraops.overrides_digest", hashlib.sha256(recorded.read_bytes()).hexdigest())
        retagged = hydraops("reproduce", run_id, cwd=project, env={"CHURN_TOKEN": TOKEN})
        assert retagged.returncode == 2, retagged.stdout + retagged.stderr
        assert f"'{attack}' sets Hydra's own settings, which a run never records; not replayed" in retagged.stderr
    finally:
        recorded.write_text(original)
    assert not marker.exists() and len(_runs(project)) == runs and "Traceback" not in tampered.stderr + retagged.stderr
