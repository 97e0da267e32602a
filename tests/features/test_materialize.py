"""The feature store on the churn project: materialize, training table, online reads, skew, plan,
and every kind of bad input failing clearly with nothing half-written."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from hydraops import load_spec
from hydraops.errors import ConfigError, DataError, FeatureStoreError
from hydraops.features import FeatureRepo, get_historical_features, materialize
from hydraops.features.offline import current_manifest
from hydraops.features.online import SqliteOnlineStore, get_online_features
from tests.conftest import Run, generated_churn
from tests.prepared import Prepared

pytestmark = [pytest.mark.slow, pytest.mark.in_process]

END = datetime(2026, 1, 1, tzinfo=UTC)
CUSTOMERS = 300  # enough for every property here: > 300 daily partitions, nulls, failing checks


@pytest.fixture(scope="module")
def churn_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A churn project with generated data, shared read-only by the tests here."""
    return generated_churn(tmp_path_factory.mktemp("features") / "churn", CUSTOMERS)


@pytest.fixture
def churn(churn_data: Path, tmp_path: Path) -> Path:
    """A private copy of the generated project, nothing materialized, for tests that materialize or break things."""
    return Path(shutil.copytree(churn_data, tmp_path / "churn"))


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    return Prepared.build(tmp_path_factory.mktemp("materialized"), CUSTOMERS)


@pytest.fixture
def materialized(prepared: Prepared) -> Path:
    """A private copy of the project with every view already materialized (once for the module)."""
    return prepared.restore()


def repo_of(project: Path, *overrides: str) -> FeatureRepo:
    return FeatureRepo.from_spec(load_spec(project, list(overrides)))


def test_materialize_is_idempotent_and_pushes_online(churn: Path) -> None:
    repo = repo_of(churn)
    with SqliteOnlineStore(str(churn / "online.db")) as store:
        first = materialize(repo, online=store, now=END)
        assert [v.status for v in first.views] == ["materialized"] * 3
        assert first.views[0].rows == CUSTOMERS and first.views[0].pushed == CUSTOMERS
        second = materialize(repo, online=store, now=END)
        assert [v.status for v in second.views] == ["up to date"] * 3
        assert all(v.pushed is None for v in second.views)
        [served] = get_online_features(repo.features, store, [{"customer_id": 1}], now=END)
    assert served.values["plan"] in ("basic", "standard", "premium")
    manifest = current_manifest(repo.offline_dir, "transaction_activity")
    assert manifest.features[0] == "amount_sum_7d" and manifest.tz_aware and manifest.ttl_us == 90 * 86_400 * 10**6
    assert manifest.layout == "events" and list(manifest.files) == ["events.parquet"], "an aggregation view keeps its events, one file"
    assert manifest.rows > CUSTOMERS and manifest.last_change_us is not None
    profile = current_manifest(repo.offline_dir, "customer_profile")
    assert profile.layout == "timeline" and list(profile.files) == ["timeline.parquet"]


def test_a_changed_source_makes_a_new_version(materialized: Path) -> None:
    repo = repo_of(materialized)
    materialize(repo)
    before = current_manifest(repo.offline_dir, "customer_profile").version
    table = pd.read_parquet(materialized / "data" / "customers.parquet")
    table.loc[0, "age"] = 77
    table.to_parquet(materialized / "data" / "customers.parquet")
    report = materialize(repo)
    assert [v.status for v in report.views] == ["materialized", "up to date", "up to date"]
    assert current_manifest(repo.offline_dir, "customer_profile").version != before


def test_historical_features_keep_rows_and_order(materialized: Path) -> None:
    repo = repo_of(materialized)
    materialize(repo)
    labels = pd.read_parquet(materialized / "data" / "labels.parquet").sample(frac=1.0, random_state=3)
    labels.index = range(100, 100 + len(labels))
    result = get_historical_features(repo, labels, timestamp_column="label_time")
    assert len(result.frame) == len(labels) and list(result.frame.index) == list(labels.index)
    assert (result.frame["customer_id"].to_numpy() == labels["customer_id"].to_numpy()).all()
    assert set(result.report) == {"customer_profile", "transaction_activity", "support_activity"}
    assert result.report["customer_profile"].missing == 0
    only = get_historical_features(repo, labels, timestamp_column="label_time", features=["age", "amount_sum_30d"])
    assert list(only.frame.columns) == [*labels.columns, "age", "amount_sum_30d"]


def test_naive_entity_timestamps_are_refused(materialized: Path) -> None:
    repo = repo_of(materialized)
    materialize(repo, views=["customer_profile"])
    entities = pd.DataFrame({"customer_id": [1], "t": [pd.Timestamp("2025-06-01")]})
    with pytest.raises(FeatureStoreError, match="'t' is naive but view 'customer_profile' has timezone-aware"):
        get_historical_features(repo, entities, timestamp_column="t", features=["age"])


def test_unknown_feature_and_missing_key(materialized: Path) -> None:
    repo = repo_of(materialized)
    materialize(repo, views=["customer_profile"])
    entities = pd.DataFrame({"id": [1], "t": [pd.Timestamp("2025-06-01", tz="UTC")]})
    with pytest.raises(FeatureStoreError, match="unknown feature"):
        get_historical_features(repo, entities, timestamp_column="t", features=["tenure"])
    with pytest.raises(FeatureStoreError, match="lack column 'customer_id', join key of entity 'customer'.*view 'customer_profile'"):
        get_historical_features(repo, entities, timestamp_column="t", features=["age"])


def test_date_range_keeps_values_exact_inside_it(churn: Path) -> None:
    repo = repo_of(churn)
    start, end = datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 9, 1, tzinfo=UTC)
    materialize(repo, views=["transaction_activity"], start=start, end=end)
    inside = pd.read_parquet(churn / "data" / "labels.parquet").query("label_time > @start and label_time < @end")
    ranged = get_historical_features(repo, inside, timestamp_column="label_time", features=["amount_sum_30d"]).frame
    full_repo = FeatureRepo(repo.features, repo.data, churn / "full_store")
    materialize(full_repo, views=["transaction_activity"])
    full = get_historical_features(full_repo, inside, timestamp_column="label_time", features=["amount_sum_30d"]).frame
    pd.testing.assert_series_equal(ranged["amount_sum_30d"], full["amount_sum_30d"])
    assert [v.status for v in materialize(repo, views=["transaction_activity"], start=start, end=end).views] == ["up to date"]


def bad(churn: Path, edit) -> tuple[FeatureRepo, str]:
    """Materialize once, break something, and return the repo with the version that was current."""
    repo = repo_of(churn)
    materialize(repo)
    version = current_manifest(repo.offline_dir, "transaction_activity").version
    edit()
    return repo_of(churn), version


def assert_untouched(repo: FeatureRepo, version: str) -> None:
    assert current_manifest(repo.offline_dir, "transaction_activity").version == version
    leftovers = [p.name for p in (repo.offline_dir / "transaction_activity").iterdir() if p.name.startswith(".")]
    assert leftovers == [], "no staging folder is left behind"


def test_missing_source_file(materialized: Path) -> None:
    repo, version = bad(materialized, lambda: (materialized / "data" / "transactions.parquet").unlink())
    with pytest.raises(DataError, match=r"source 'transactions': no file matches .*transactions.parquet \(data.sources.transactions.path\)"):
        materialize(repo, views=["transaction_activity"])
    assert_untouched(repo, version)


def rewrite(churn: Path, name: str, change) -> None:
    path = churn / "data" / f"{name}.parquet"
    change(pd.read_parquet(path)).to_parquet(path)


def test_missing_timestamp_column(materialized: Path) -> None:
    repo, version = bad(materialized, lambda: rewrite(materialized, "transactions", lambda t: t.rename(columns={"ts": "event_time"})))
    with pytest.raises(
        DataError, match=r"source 'transactions': timestamp column 'ts' \(data.sources.transactions.timestamp\) is not in the data; available: .*event_time"
    ):
        materialize(repo, views=["transaction_activity"])
    assert_untouched(repo, version)


def test_wrong_dtype(materialized: Path) -> None:
    repo, version = bad(materialized, lambda: rewrite(materialized, "transactions", lambda t: t.assign(amount=t["amount"].astype(str))))
    with pytest.raises(DataError, match=r"column 'amount' is VARCHAR in the data, declared float64 \(data.sources.transactions.columns.amount.dtype\)"):
        materialize(repo, views=["transaction_activity"])
    assert_untouched(repo, version)


def test_null_join_key(materialized: Path) -> None:
    def null_key(table: pd.DataFrame) -> pd.DataFrame:
        table["customer_id"] = table["customer_id"].astype("Int64")
        table.loc[[3, 5], "customer_id"] = pd.NA
        return table

    repo, version = bad(materialized, lambda: rewrite(materialized, "transactions", null_key))
    with pytest.raises(DataError, match="feature view 'transaction_activity': 2 row\\(s\\) of source 'transactions' have a null join key 'customer_id'"):
        materialize(repo, views=["transaction_activity"])
    assert_untouched(repo, version)


def test_expression_naming_an_unknown_column(churn: Path) -> None:
    with pytest.raises(ConfigError, match=r"features.views.customer_profile.features.age.expr .*`age_years \* 2` refers to 'age_years'"):
        repo_of(churn, "features.views.customer_profile.features.age.expr=age_years * 2")
    repo = repo_of(churn)  # the Python API, past validate: the same check runs before any SQL
    repo.features.views["customer_profile"].features["age"].expr = "age_years * 2"
    with pytest.raises(DataError, match=r"feature 'age' \(features.views.customer_profile.features.age.expr\) refers to 'age_years'"):
        materialize(repo, views=["customer_profile"])
    repo.features.views["customer_profile"].features["age"].expr = "plan + 1"  # parses, but does not bind
    with pytest.raises(
        DataError,
        match=r"feature 'age' \(features.views.customer_profile.features.age.expr\) `plan \+ 1` does not compile: .*; source 'customers' has: customer_id",
    ):
        materialize(repo, views=["customer_profile"])
    assert current_manifest(repo.offline_dir, "customer_profile") is None


def test_strict_validation_fails_naming_view_column_check_and_values(materialized: Path) -> None:
    repo = repo_of(materialized)
    materialize(repo, views=["customer_profile"])
    version = current_manifest(repo.offline_dir, "customer_profile").version
    strict = repo_of(materialized, "features.views.customer_profile.features.age.le=30")
    with pytest.raises(DataError) as caught:
        materialize(strict, views=["customer_profile"])
    message = str(caught.value)
    assert "feature view 'customer_profile' failed validation" in message
    assert "column 'age' failed less_than_or_equal_to(30" in message and "e.g. " in message
    assert current_manifest(strict.offline_dir, "customer_profile").version == version
    warn = repo_of(materialized, "features.views.customer_profile.features.age.le=30", "features.validation=warn")
    [result] = materialize(warn, views=["customer_profile"]).views
    assert result.status == "materialized" and any("less_than_or_equal_to(30" in w for w in result.warnings)


def test_source_checks_run_on_what_is_read(churn: Path) -> None:
    rewrite(churn, "tickets", lambda t: t.assign(severity=t["severity"].where(t.index > 2, 9)))
    with pytest.raises(DataError, match=r"source 'tickets': column 'severity' failed less_than_or_equal_to\(3"):
        materialize(repo_of(churn), views=["support_activity"])


def test_cli_features_end_to_end(churn: Path, hydraops: Run) -> None:
    plan = json.loads(hydraops("plan", "--json", cwd=churn).stdout)
    features = [a for a in plan["actions"] if a["stage"] == "features"]
    assert [a["effect"] for a in features] == ["create", "create", "create", "update"]

    result = hydraops("features", "materialize", "end=2026-01-01", cwd=churn)
    assert result.returncode == 0, result.stderr
    assert "materialized" in result.stdout
    plan = json.loads(hydraops("features", "materialize", "end=2026-01-01", "dry_run=true", "--json", cwd=churn).stdout)
    assert [a["effect"] for a in plan["actions"]] == ["skip"] * 4, "the same parameters plan nothing more"

    table = hydraops("features", "training-table", f"out={churn / 'train.parquet'}", cwd=churn)
    assert table.returncode == 0, table.stderr
    frame = pd.read_parquet(churn / "train.parquet")
    labels = pd.read_parquet(churn / "data" / "labels.parquet")
    assert len(frame) == len(labels) and (frame["customer_id"].to_numpy() == labels["customer_id"].to_numpy()).all()
    assert {"churned", "age", "amount_sum_30d", "severity_max_30d"} <= set(frame.columns)

    online = hydraops("features", "get-online", "entity=1,2", cwd=churn)
    assert online.returncode == 0 and "amount_sum_30d" in online.stdout
    skew = hydraops("features", "check-skew", "sample=50", cwd=churn)
    assert skew.returncode == 0, skew.stdout + skew.stderr
    listed = hydraops("features", "list", cwd=churn)
    assert listed.returncode == 0 and "customer_profile" in listed.stdout
    described = hydraops("features", "describe", "view=customer_profile", cwd=churn)
    assert described.returncode == 0 and "Subscription plan" in described.stdout


def test_cli_reports_data_errors_without_traceback(materialized: Path, hydraops: Run) -> None:
    (materialized / "data" / "tickets.parquet").unlink()
    result = hydraops("features", "materialize", cwd=materialized)
    assert result.returncode == 2
    assert "source 'tickets': no file matches" in result.stderr and "Traceback" not in result.stderr


def test_shared_stack_serves_from_real_redis(materialized: Path, hydraops: Run) -> None:
    """stack=shared: the online store is Redis on 127.0.0.1; materialize, read and check skew there."""
    import uuid

    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix = f"hydraops-test-{uuid.uuid4().hex[:8]}"
    args = ["stack=shared", f"stack.online_store.key_prefix={prefix}"]
    try:
        result = hydraops("features", "materialize", "end=2026-01-01", *args, cwd=materialized)
        assert result.returncode == 0, result.stderr
        assert client.keys(f"{prefix}:*"), "values landed in Redis"
        online = hydraops("features", "get-online", "entity=1", *args, cwd=materialized)
        assert online.returncode == 0, online.stderr
        assert any(f"'{plan}'" in online.stdout for plan in ("basic", "standard", "premium"))
        skew = hydraops("features", "check-skew", "sample=30", *args, cwd=materialized)
        assert skew.returncode == 0, skew.stdout + skew.stderr
    finally:
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)


def test_a_query_source_feeds_a_view(churn: Path) -> None:
    """A source can be a DuckDB query over other sources; its version follows their files."""
    config = churn / "conf" / "config.yaml"
    config.write_text(config.read_text().replace(
        "  sources:\n", "  sources:\n    big_transactions: {query: 'SELECT * FROM transactions WHERE amount > 100', timestamp: ts}\n", 1
    ))  # fmt: skip
    views = churn / "conf" / "features" / "churn.yaml"
    views.write_text(views.read_text().replace("views:\n", (
        "views:\n  big_spend:\n    entity: customer\n    source: big_transactions\n"
        "    aggregations: [{column: amount, agg: [count], windows: [14d]}]\n"
    ), 1))  # fmt: skip
    repo = FeatureRepo.from_spec(load_spec(churn))
    [result] = materialize(repo, views=["big_spend"]).views
    assert result.status == "materialized" and result.rows > 0
    labels = pd.read_parquet(churn / "data" / "labels.parquet").head(2000)
    both = get_historical_features(repo, labels, timestamp_column="label_time", features=["amount_count_14d"]).frame
    assert both["amount_count_14d"].notna().any()
    assert repo.view_sources("big_spend") == ["transactions"]


def test_an_end_after_the_last_change_covers_an_unbounded_request(churn: Path) -> None:
    repo = repo_of(churn)
    materialize(repo, end=datetime(2030, 1, 1, tzinfo=UTC))
    assert [v.status for v in materialize(repo).views] == ["up to date"] * 3
    early = materialize(repo, views=["transaction_activity"], end=datetime(2025, 3, 1, tzinfo=UTC))
    assert early.views[0].status == "up to date", "a narrower range is inside the published one"


def test_rematerializing_gives_the_same_bits(materialized: Path, tmp_path: Path) -> None:
    """Floating-point aggregates run in one fixed order: the same data gives the same events and the same
    training table, bit for bit, whichever store and build."""
    from hydraops.features.historical import build_training_table

    first = repo_of(materialized)
    materialize(first)
    second = FeatureRepo(first.features, first.data, materialized / "second_store")
    materialize(second)

    def events(repo: FeatureRepo) -> pd.DataFrame:
        manifest = current_manifest(repo.offline_dir, "transaction_activity")
        return pd.read_parquet(repo.offline_dir / "transaction_activity" / "versions" / manifest.folder / "events.parquet")

    pd.testing.assert_frame_equal(events(first), events(second), check_exact=True)
    tables = []
    for i, repo in enumerate([first, second, first]):
        build_training_table(repo, str(tmp_path / f"table{i}.parquet"))
        tables.append(pd.read_parquet(tmp_path / f"table{i}.parquet"))
    assert tables[0]["amount_mean_30d"].notna().sum() > 100
    for table in tables[1:]:
        pd.testing.assert_frame_equal(tables[0], table, check_exact=True)


def test_get_online_reads_entity_keys_as_the_store_holds_them(churn: Path, materialized: Path, hydraops: Run) -> None:
    """``entity=007`` is the customer "007" where keys are strings (not customer 7); where keys are integers a
    value that is none is refused, naming the key (it was looked up as a string and every feature shown missing)."""
    refused = hydraops("features", "get-online", "entity=abc", cwd=materialized)
    assert refused.returncode == 2 and "'abc' is not an integer; join key 'customer_id' is declared int64" in refused.stderr

    for name in ("customers", "transactions", "tickets", "labels"):
        frame = pd.read_parquet(churn / "data" / f"{name}.parquet")
        frame["customer_id"] = frame["customer_id"].map(lambda i: f"{i:03d}")
        frame.to_parquet(churn / "data" / f"{name}.parquet")
    strings = [f"data.sources.{name}.columns.customer_id.dtype=string" for name in ("customers", "transactions", "tickets", "labels")]
    assert hydraops("features", "materialize", "end=2026-01-01", *strings, cwd=churn).returncode == 0
    online = hydraops("features", "get-online", "entity=007", "at=2026-01-01", *strings, cwd=churn)
    assert online.returncode == 0, online.stderr
    assert "customer_id=007" in online.stdout and any(f"'{plan}'" in online.stdout for plan in ("basic", "standard", "premium"))
