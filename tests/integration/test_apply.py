"""``hydraops apply``: every stage through one plan and one executor. What ``plan`` shows is what ``apply``
and the acting verbs then do, and a second ``apply`` on unchanged inputs changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Run, generated_churn

pytestmark = [pytest.mark.slow, pytest.mark.in_process]

FAST = "debug=fast"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated_churn(tmp_path_factory.mktemp("apply") / "churn", customers=300)


def changes(plan: dict) -> list[tuple]:
    """The planned actions that create or update something: type, data, effect."""
    return [_key(action) for action in plan["actions"] if action["effect"] in ("create", "update")]


def executed(applied: dict) -> list[tuple]:
    """The actions an apply carried out (changes, not checks or skips)."""
    return [_key(result["action"]) for result in applied["results"] if result["outcome"] in ("done", "rejected")]


def _key(action: dict) -> tuple:
    return action["type"], json.dumps(action["data"], sort_keys=True), action["effect"]


def world(project: Path) -> dict:
    """What apply could change: runs, versions, aliases, each view's CURRENT timeline, the online store's pushes, bentos."""
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{project}/artifacts/mlflow.db"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    runs = [r.info.run_id for e in client.search_experiments() for r in client.search_runs([e.experiment_id])]
    versions = [str(v.version) for v in client.search_model_versions("name='churn'")]
    aliases = {alias: str(version) for alias, version in client.get_registered_model("churn").aliases.items()}
    store = project / "artifacts" / "offline_store"
    current = {p.parent.name: p.read_text() for p in store.glob("*/CURRENT")}
    online = (project / "artifacts" / "online_store.db").stat().st_mtime
    bentos = sorted(f"{p.parent.name}/{p.name}" for p in (project / "artifacts" / "bentoml" / "bentos").glob("*/*") if p.name != "latest")
    return {"runs": sorted(runs), "versions": sorted(versions), "aliases": aliases, "current": current, "online": online, "bentos": bentos}


def run_json(hydraops: Run, project: Path, *args: str) -> dict:
    done = hydraops(*args, "--json", FAST, cwd=project)
    assert done.returncode == 0, done.stderr + done.stdout
    return json.loads(done.stdout)


def test_apply_does_what_plan_shows_and_then_nothing(project: Path, hydraops: Run) -> None:
    planned = run_json(hydraops, project, "plan")
    kinds = [action[0] for action in changes(planned)]
    assert kinds == ["MaterializeView"] * 3 + ["PushOnline", "TrainRun", "Promote", "BuildBundle"]
    applied = run_json(hydraops, project, "apply")
    assert executed(applied) == changes(planned)
    before = world(project)
    assert len(before["versions"]) == 1 and before["aliases"] == {"champion": "1"}
    assert [bento.split("-")[0] for bento in before["bentos"]] == ["churn/1"], "the champion's bundle is built"

    again = run_json(hydraops, project, "plan")
    assert changes(again) == [], [a["name"] for a in again["actions"] if a["effect"] != "skip"]
    second = hydraops("apply", FAST, cwd=project)
    assert second.returncode == 0, second.stderr
    assert "nothing changed" in second.stdout
    assert world(project) == before  # no new run, version, timeline version, push or alias move


def test_promote_moves_what_the_plan_showed_and_plan_loads_no_model(project: Path, hydraops: Run) -> None:
    trained = hydraops("train", FAST, "seed=7", cwd=project)  # a second version: the candidate, champion is v1
    assert trained.returncode == 0, trained.stderr
    planned = run_json(hydraops, project, "plan")
    (promote,) = [a for a in planned["actions"] if a["type"] == "Promote"]
    assert promote["effect"] == "update" and promote["data"]["version"] == "2"
    assert ["max_model_size_mb", "-", "-", "at apply"] in promote["data"]["gates"]

    # On the embedded SQLite store plan reads runs and the registry with sqlite3: it imports neither a model
    # library nor MLflow (so it cannot download a model either).
    script = (
        "import sys\n"
        "from hydraops.cli import run\n"
        f"code = run(['plan', '{FAST}'])\n"
        "heavy = ('lightgbm', 'sklearn', 'skops', 'mlflow', 'sqlalchemy', 'alembic')\n"
        "print('LOADED', sorted({m.split('.')[0] for m in sys.modules} & set(heavy)), code)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=project, capture_output=True, text=True, timeout=120)
    assert "LOADED [] 0" in done.stdout, done.stdout + done.stderr
    assert "v2 (latest version); champion: v1" in done.stdout, "the plan read the candidate, its run and the champion"

    promoted = hydraops("promote", FAST, cwd=project)
    assert promoted.returncode in (0, 1), promoted.stderr
    moved = world(project)["aliases"]
    expected = {alias: version for alias, version in promote["data"]["moves"] if version is not None}
    if promoted.returncode == 0:
        assert {alias: moved.get(alias) for alias in expected} == expected
    else:  # a gate measured at apply, or the champion, said no: nothing moved
        assert moved == {"champion": "1"}
