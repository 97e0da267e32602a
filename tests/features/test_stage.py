"""The features stage: what its plan shows is what `features materialize` does, on SQLite and on Redis.

Each step plans the stage (what `hydraops plan` shows), then does what the verb does (plans again and
applies), and checks that the executed actions are the planned ones, that the world changed exactly as
planned (new CURRENT folders for the planned views only, online rows of the pushed views only), and that
a plan right after has nothing left to do."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from hydraops import load_spec
from hydraops.features import FeatureRepo
from hydraops.features.offline import current_manifest
from hydraops.features.online import read_pushed
from hydraops.features.stage import MaterializeView, PushOnline, plan_features
from hydraops.plan import Effect, Outcome, Plan, RunContext, apply
from tests.conftest import Run, generated_churn

pytestmark = pytest.mark.slow

NOW = datetime(2026, 1, 1, tzinfo=UTC)  # latest values are pushed at this instant: steps do not depend on the clock
REDIS_URL = os.environ.get("HYDRAOPS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
VIEWS = ("customer_profile", "transaction_activity", "support_activity")


@pytest.fixture(scope="module")
def small_churn(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated_churn(tmp_path_factory.mktemp("stage") / "churn", 150)


@pytest.fixture
def churn(small_churn: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(small_churn, tmp_path / "churn"))


@pytest.fixture(params=["sqlite", "redis"])
def online(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Overrides giving two empty online stores of one backend: ``(the first, another one)``."""
    if request.param == "sqlite":
        yield (f"stack.online_store.path={tmp_path / 'online.db'}", f"stack.online_store.path={tmp_path / 'other.db'}")
        return
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.RedisError as error:
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({error}); start redis-server or set HYDRAOPS_TEST_REDIS_URL")
    prefixes = [f"hydraops-test:{uuid.uuid4().hex}" for _ in range(2)]
    yield tuple(f"stack=shared stack.online_store.url={REDIS_URL} stack.online_store.key_prefix={p}" for p in prefixes)
    client = redis.Redis.from_url(REDIS_URL)
    for prefix in prefixes:
        stale = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if stale:
            client.delete(*stale)
    client.close()


def world(spec) -> tuple[dict, dict]:
    """Per view: the CURRENT offline folder, and the offline folder its online rows were pushed from."""
    offline_dir = FeatureRepo.from_spec(spec).offline_dir
    folders = {view: (m.folder if (m := current_manifest(offline_dir, view)) else None) for view in VIEWS}
    pushed = read_pushed(spec.stack.online_store, spec.project, VIEWS)
    return folders, {view: (p.version if p else None) for view, p in pushed.items()}


def plan_is_execution(spec, **options) -> Plan:
    """Plan, then do what `features materialize` does, and check that it did exactly what was planned."""
    ctx = RunContext.create(spec, now=NOW)
    planned = Plan(spec.project, tuple(plan_features(spec, ctx, **options)))  # what `hydraops plan` shows
    folders, pushed = world(spec)
    results = apply(Plan(spec.project, tuple(plan_features(spec, ctx, **options))), ctx)  # the verb: its own plan
    assert [r.action for r in results if r.outcome is not Outcome.skipped] == planned.changes
    assert all(r.outcome is Outcome.done for r in results if r.outcome is not Outcome.skipped)
    after_folders, after_pushed = world(spec)
    materialized = {a.view for a in planned.changes if isinstance(a, MaterializeView)}
    assert {view for view in VIEWS if after_folders[view] != folders[view]} == materialized
    push = next((a.views for a in planned.changes if isinstance(a, PushOnline)), ())
    assert set(push) == {view for view in VIEWS if pushed[view] != after_folders[view]}, "views not holding CURRENT online"
    assert after_pushed == {view: after_folders[view] if view in push else pushed[view] for view in VIEWS}
    again = plan_features(spec, ctx, **{k: v for k, v in options.items() if k != "force"})
    assert again and all(a.effect is Effect.skip for a in again), [a.details for a in again if a.effect is not Effect.skip]
    return planned


def effects(plan: Plan) -> dict[str, str]:
    return {action.name: action.effect.value for action in plan.actions}


def drop_customers(project: Path) -> None:
    path = project / "data" / "customers.parquet"
    table = pd.read_parquet(path)
    table.iloc[len(table) // 4 :].to_parquet(path)


def test_the_plan_is_what_materialize_does(churn: Path, online: tuple[str, str]) -> None:
    spec = load_spec(churn, online[0].split())
    first = plan_is_execution(spec)  # an empty store
    assert set(effects(first).values()) == {"create", "update"} and first.changes[-1].views == VIEWS
    assert plan_is_execution(spec).changes == []  # up to date

    other = load_spec(churn, online[1].split())  # the same offline store, an empty online store
    assert effects(plan_is_execution(other))["push latest values online"] == "update"

    drop_customers(churn)  # a changed source file: one view, pushed to the store in use only
    changed = plan_is_execution(spec)
    assert [a.name for a in changed.changes] == ["materialize customer_profile", "push latest values online"]
    assert changed.changes[-1].views == ("customer_profile",)
    assert plan_is_execution(other).changes[-1].views == ("customer_profile",)

    early, later = datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 9, 1, tzinfo=UTC)
    plan_is_execution(spec, end=early, force=True)  # force: every view recomputed and pushed
    uncovered = plan_is_execution(spec, end=later)  # a range the timelines do not cover
    assert effects(uncovered)["materialize transaction_activity"] == "create"
    assert any("is not covered" in d for d in uncovered.changes[0].details)
    plan_is_execution(spec, start=early, force=True)
    unbounded = effects(plan_is_execution(spec))
    assert unbounded["materialize customer_profile"] == "create"  # an earlier start
    assert unbounded["materialize transaction_activity"] == "skip"  # an aggregation view keeps every event before its end


def test_a_damaged_current_timeline_is_planned_as_repaired(churn: Path) -> None:
    spec = load_spec(churn)
    plan_is_execution(spec, views=["customer_profile"])
    manifest = current_manifest(FeatureRepo.from_spec(spec).offline_dir, "customer_profile")
    folder = FeatureRepo.from_spec(spec).offline_dir / "customer_profile" / "versions" / manifest.folder
    damaged = folder / sorted(manifest.files)[0]
    damaged.write_bytes(damaged.read_bytes()[:-1] + b"\x00")  # same size: only its sha256 differs
    repaired = plan_is_execution(spec, views=["customer_profile"])
    assert any("did not match its manifest" in d for d in repaired.changes[0].details)


def test_plan_json_and_materialize_json_agree(churn: Path, hydraops: Run) -> None:
    """`hydraops plan --json`, `features materialize dry_run=true --json` and the actions
    `features materialize --json` executed are the same actions (a changed source on a materialized store)."""
    spec = load_spec(churn)
    apply(Plan(spec.project, tuple(plan_features(spec, RunContext.create(spec)))), RunContext.create(spec))
    drop_customers(churn)

    plan = json.loads(hydraops("plan", "--json", cwd=churn).stdout)
    planned = [a for a in plan["actions"] if a["stage"] == "features" and a["effect"] in ("create", "update")]
    before = world(spec)
    dry = hydraops("features", "materialize", "dry_run=true", "--json", cwd=churn)
    assert dry.returncode == 0, dry.stderr
    assert [a for a in json.loads(dry.stdout)["actions"] if a["effect"] in ("create", "update")] == planned
    assert world(spec) == before, "a dry run changes nothing"
    done = hydraops("features", "materialize", "--json", cwd=churn)
    assert done.returncode == 0, done.stderr
    executed = [r["action"] for r in json.loads(done.stdout)["results"] if r["outcome"] == "done"]
    assert executed == planned and [a["name"] for a in executed] == ["materialize customer_profile", "push latest values online"]
    assert before[0]["customer_profile"] != world(spec)[0]["customer_profile"]
