"""Stores that heal (issue 9, items 8-10): a materialization killed with SIGKILL in the middle of its
publish, an online store left behind by a run without it, a damaged offline file — each reproduced for
real (a real `hydraops features materialize` process, real files, real SQLite), then healed by the next run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from hydraops import load_spec
from hydraops.errors import FeatureStoreError
from hydraops.features import FeatureRepo, get_historical_features, materialize, offline
from hydraops.features.online import SqliteOnlineStore
from hydraops.features.skew import check_skew
from tests.conftest import Run, generated_churn

pytestmark = pytest.mark.slow

END = datetime(2026, 1, 1, tzinfo=UTC)
PROFILE = "customer_profile"


@pytest.fixture(scope="module")
def small_churn(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The churn project with 200 customers of generated data, shared read-only by the tests here."""
    return generated_churn(tmp_path_factory.mktemp("healing") / "churn", 200)


@pytest.fixture
def churn(small_churn: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(small_churn, tmp_path / "churn"))


def repo_of(project: Path) -> FeatureRepo:
    return FeatureRepo.from_spec(load_spec(project))


def drop_customers(project: Path, fraction: float = 0.3) -> int:
    """Remove a share of the customers and change the plan of the others; returns how many are left."""
    path = project / "data" / "customers.parquet"
    table = pd.read_parquet(path)
    kept = table.iloc[int(len(table) * fraction) :].copy()
    kept["plan"] = kept["plan"].map({"basic": "premium", "standard": "basic", "premium": "standard"})
    kept.to_parquet(path)
    return len(kept)


def leftovers(repo: FeatureRepo, view: str) -> list[str]:
    return sorted(p.name for p in offline.view_dir(repo.offline_dir, view).iterdir() if p.name.startswith("."))


def online_keys(store: SqliteOnlineStore, view: str) -> set:
    return set(store.keys(view, 10**6))


def mismatches(repo: FeatureRepo, store: SqliteOnlineStore) -> int:
    return sum(result.mismatches for result in check_skew(repo, store, sample=10**6))


# --- item 8: the online store follows the offline store until it matches -----------------------------


def test_a_run_without_the_online_store_is_pushed_by_the_next_one(churn: Path) -> None:
    """`train` materializes without the online store; the next `features materialize` used to say
    "up to date" and never push, leaving stale (and deleted) entities online."""
    repo = repo_of(churn)
    with SqliteOnlineStore(churn / "online.db") as store:
        materialize(repo, views=[PROFILE], online=store, now=END)
        left = drop_customers(churn)
        materialize(repo, views=[PROFILE], now=END)  # offline moves on, online does not
        [result] = materialize(repo, views=[PROFILE], online=store, now=END).views
        assert result.status == "up to date" and result.pushed == left
        assert len(online_keys(store, PROFILE)) == left, "entities gone from the source are gone online"
        assert mismatches(repo, store) == 0
        assert store.pushed(PROFILE).version == offline.current_manifest(repo.offline_dir, PROFILE).folder
        [again] = materialize(repo, views=[PROFILE], online=store, now=END).views
        assert again.pushed is None, "once the online store matches, nothing is pushed"


def test_force_recomputes_and_pushes_every_view(churn: Path) -> None:
    repo = repo_of(churn)
    with SqliteOnlineStore(churn / "online.db") as store:
        materialize(repo, views=[PROFILE], online=store, now=END)
        before = offline.current_manifest(repo.offline_dir, PROFILE).folder
        [result] = materialize(repo, views=[PROFILE], online=store, now=END, force=True).views
        after = offline.current_manifest(repo.offline_dir, PROFILE)
        assert result.status == "materialized" and result.pushed == 200
        assert after.folder != before and after.version in before
        assert store.pushed(PROFILE).version == after.folder


# --- item 10: publish is one pointer switch; leftovers and old folders are cleaned ---------------------


def test_a_kept_version_is_switched_back_to_and_old_folders_are_collected(churn: Path) -> None:
    repo = repo_of(churn)
    materialize(repo, views=[PROFILE])
    first = offline.current_manifest(repo.offline_dir, PROFILE).folder
    original = (churn / "data" / "customers.parquet").read_bytes()
    drop_customers(churn)
    materialize(repo, views=[PROFILE])
    (churn / "data" / "customers.parquet").write_bytes(original)  # the source reverted
    [result] = materialize(repo, views=[PROFILE]).views
    assert result.status == "materialized" and offline.current_manifest(repo.offline_dir, PROFILE).folder == first
    for _ in range(3):
        materialize(repo, views=[PROFILE], force=True)
    versions = offline.view_dir(repo.offline_dir, PROFILE) / "versions"
    assert len(list(versions.iterdir())) == 1 + offline.KEEP


def test_a_store_left_by_the_old_two_rename_publish_heals(churn: Path, hydraops: Run) -> None:
    """The state a crash between the old publish's two renames left: CURRENT names a folder that was
    moved to `.retired-*/old`. Readers fail with a clear message, not a raw FileNotFoundError, and the
    next materialization rebuilds the view and removes the leftover."""
    repo = repo_of(churn)
    materialize(repo, views=[PROFILE])
    root = offline.view_dir(repo.offline_dir, PROFILE)
    retired = root / ".retired-x1y2"
    retired.mkdir()
    os.replace(root / "versions" / (root / "CURRENT").read_text(), retired / "old")
    with pytest.raises(FeatureStoreError, match=r"feature view 'customer_profile': .*manifest.json cannot be read"):
        get_historical_features(repo, pd.DataFrame({"customer_id": [1], "t": [END]}), timestamp_column="t", features=["age"])
    listed = hydraops("features", "list", cwd=churn)
    assert listed.returncode == 2 and "cannot be read" in listed.stderr and "Traceback" not in listed.stderr
    [result] = materialize(repo, views=[PROFILE]).views
    assert result.status == "materialized" and any("could not be read" in w for w in result.warnings)
    assert leftovers(repo, PROFILE) == [] and offline.verify(repo.offline_dir, offline.current_manifest(repo.offline_dir, PROFILE)) == []


# --- item 10: a damaged file is detected, not reported "up to date" ----------------------------------


def test_a_corrupted_parquet_file_is_detected_and_rebuilt(churn: Path, hydraops: Run) -> None:
    repo = repo_of(churn)
    materialize(repo, views=[PROFILE])
    manifest = offline.current_manifest(repo.offline_dir, PROFILE)
    damaged = offline.folder_path(repo.offline_dir, manifest) / sorted(manifest.files)[0]
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size: only the digest sees it
    damaged.write_bytes(bytes(data))

    verified = hydraops("features", "verify", cwd=churn)
    assert verified.returncode == 2, verified.stdout + verified.stderr
    assert f"feature view '{PROFILE}'" in verified.stderr and str(damaged.relative_to(churn)) in verified.stderr.replace("\n", "")
    [result] = materialize(repo, views=[PROFILE]).views
    assert result.status == "materialized", "a damaged timeline is not up to date"
    assert any("did not match its manifest" in w and damaged.name in w for w in result.warnings)
    assert hydraops("features", "verify", cwd=churn).returncode == 0


def test_a_truncated_file_is_refused_at_read(churn: Path) -> None:
    repo = repo_of(churn)
    materialize(repo, views=[PROFILE])
    manifest = offline.current_manifest(repo.offline_dir, PROFILE)
    damaged = offline.folder_path(repo.offline_dir, manifest) / sorted(manifest.files)[0]
    damaged.write_bytes(damaged.read_bytes()[:100])
    with pytest.raises(FeatureStoreError, match=rf"{PROFILE}'.* has 100 bytes, the manifest recorded .*features verify"):
        get_historical_features(repo, pd.DataFrame({"customer_id": [1], "t": [END]}), timestamp_column="t", features=["age"])
    stray = offline.folder_path(repo.offline_dir, manifest) / "extra.parquet"
    shutil.copy(damaged, stray)
    problems = offline.verify(repo.offline_dir, manifest)
    assert any("has 100 bytes" in p for p in problems) and any("extra.parquet is not in the manifest" in p for p in problems)


# --- items 8 and 10: SIGKILL in the middle of a real `hydraops features materialize` ------------------

#: Runs `hydraops features materialize ARGS` (the real entry point) with os.replace wrapped so that the
#: process stops at one step of the publish, writes the barrier file, and waits there to be killed.
CHILD = textwrap.dedent(
    """
    import os, sys, time
    barrier, point, VIEW, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    real = os.replace

    def stop(where):
        with open(barrier, "w") as handle:
            handle.write(where)
        time.sleep(300)

    def replace(src, dst, *rest, **options):
        src, dst = str(src), str(dst)
        if point == "before-folder" and ".staging-" in src:
            stop(src)
        real(src, dst, *rest, **options)
        pointer = dst.endswith(os.path.join(VIEW, "CURRENT"))  # its own: the views are materialized at once
        if (point == "after-folder" and ".staging-" in src) or (point == "after-pointer" and pointer):
            stop(dst)

    os.replace = replace
    sys.argv = ["hydraops", "features", "materialize", *args]
    from hydraops.cli import main
    main()
    """
)


def kill_materialize_at(project: Path, point: str, tmp_path: Path) -> None:
    script, barrier = tmp_path / "child.py", tmp_path / "barrier"
    script.write_text(CHILD)
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    child = subprocess.Popen(
        [sys.executable, str(script), str(barrier), point, PROFILE, "end=2026-01-01"],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while not barrier.exists():
        if child.poll() is not None:
            pytest.fail(f"materialize ended (exit {child.returncode}) before {point}:\n{child.stderr.read()}")
        assert time.monotonic() < deadline, f"materialize never reached {point}"
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL


@pytest.fixture(scope="module")
def materialized_churn(small_churn: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small project with every view materialized and pushed to its SQLite online store at END."""
    from hydraops.features.online import open_online_store

    project = Path(shutil.copytree(small_churn, tmp_path_factory.mktemp("materialized") / "churn"))
    spec = load_spec(project)
    with open_online_store(spec.stack.online_store, spec.project) as store:
        materialize(FeatureRepo.from_spec(spec), online=store, now=END)
    return project


@pytest.mark.parametrize("point", ["before-folder", "after-folder", "after-pointer"])
def test_materialize_killed_inside_publish_heals_at_the_next_run(materialized_churn: Path, point: str, tmp_path: Path, hydraops: Run) -> None:
    churn = Path(shutil.copytree(materialized_churn, tmp_path / "churn"))
    spec = load_spec(churn)
    repo = FeatureRepo.from_spec(spec)
    before = offline.current_manifest(repo.offline_dir, PROFILE).folder
    left = drop_customers(churn)  # the next run publishes a new version of the view, then pushes it

    kill_materialize_at(churn, point, tmp_path)

    current = offline.current_manifest(repo.offline_dir, PROFILE)  # CURRENT always names a complete folder
    assert (current.folder == before) == (point != "after-pointer")
    verified = hydraops("features", "verify", cwd=churn)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    plan = json.loads(hydraops("plan", "--json", cwd=churn).stdout)
    push = next(a for a in plan["actions"] if a["name"] == "push latest values online")
    assert push["effect"] == "update", "plan says the online store needs a push"
    if point == "after-pointer":
        stale = hydraops("features", "check-skew", cwd=churn)
        assert stale.returncode == 2, "the crash left the online store behind the offline one"

    healed = hydraops("features", "materialize", "end=2026-01-01", cwd=churn)
    assert healed.returncode == 0, healed.stderr
    assert leftovers(repo, PROFILE) == [], "staging folders and pointer temporaries are removed"
    skew = hydraops("features", "check-skew", "sample=1000", cwd=churn)
    assert skew.returncode == 0, skew.stdout + skew.stderr
    with SqliteOnlineStore(spec.stack.online_store.path) as store:
        assert len(online_keys(store, PROFILE)) == left
        assert store.pushed(PROFILE).version == offline.current_manifest(repo.offline_dir, PROFILE).folder
    assert offline.verify(repo.offline_dir, offline.current_manifest(repo.offline_dir, PROFILE)) == []
    plan = json.loads(hydraops("features", "materialize", "end=2026-01-01", "dry_run=true", "--json", cwd=churn).stdout)
    assert [a["effect"] for a in plan["actions"]] == ["skip"] * 4
