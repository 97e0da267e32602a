"""Batch scoring for real: parquet and CSV files, a LightGBM model checked against its sha256, and (slow) a
trained, promoted churn project scored through `hydraops score`, with features given or looked up point in time."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from hydraops.config.schemas.lifecycle import OnInvalid
from hydraops.errors import ServingError
from hydraops.serving.predictor import Predictor
from hydraops.serving.score import ScoreOptions, file_metadata, read_chunks, score_file
from hydraops.serving.spec import FeatureField, ModelRef, ServingSpec
from tests.conftest import HYDRAOPS, Run
from tests.prepared import Prepared

LEVELS = {"plan": ["basic", "premium", "standard"]}

pytestmark = pytest.mark.in_process


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Predictor, pd.DataFrame]:
    """A small LightGBM classifier saved as hydraops saves models, its Predictor, and 3,000 rows of its inputs."""
    import lightgbm
    import mlflow

    from hydraops.tracking.models import files_sha256
    from hydraops.training.estimators import prepare_features

    rng = np.random.default_rng(7)
    rows = pd.DataFrame({"spend": rng.normal(50, 20, 3000), "age": rng.integers(18, 91, 3000), "plan": rng.choice(LEVELS["plan"], 3000)})
    target = ((rows.spend > 55) ^ (rows.plan == "premium")).astype(int)
    model = lightgbm.LGBMClassifier(n_estimators=15, num_leaves=7, verbose=-1).fit(prepare_features(rows, LEVELS), target)
    folder = tmp_path_factory.mktemp("tiny") / "model"
    mlflow.lightgbm.save_model(model.booster_, str(folder))
    fields = [FeatureField("spend", "float64", nullable=False, ge=0), FeatureField("age", "int64", ge=18, le=90),
              FeatureField("plan", "category", isin=LEVELS["plan"])]  # fmt: skip
    spec = ServingSpec("tiny", ModelRef("tiny", "1", "run", None, "lightgbm", files_sha256(folder)), "classification", fields, LEVELS)
    rows.insert(0, "id", np.arange(len(rows)))
    return Predictor(spec, folder), rows.assign(spend=rows.spend.abs())


def written(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False) if path.suffix == ".csv" else frame.to_parquet(path, index=False)
    return path


def test_scores_are_the_predictors_in_fixed_row_groups_and_the_same_bytes_twice(tiny, tmp_path: Path) -> None:
    predictor, rows = tiny
    source = written(rows, tmp_path / "rows.parquet")
    options = ScoreOptions(chunk_rows=700)
    first = score_file(predictor, source, tmp_path / "a.parquet", options, metadata={"model.name": "tiny", "model.version": "1"})
    score_file(predictor, source, tmp_path / "b.parquet", options, metadata={"model.name": "tiny", "model.version": "1"})
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    out = pd.read_parquet(tmp_path / "a.parquet")
    assert list(out.columns) == [*rows.columns, "prediction"]
    assert np.array_equal(out["prediction"].to_numpy(), predictor.predict(rows)) and out["id"].tolist() == rows["id"].tolist()
    layout = pq.ParquetFile(tmp_path / "a.parquet").metadata
    assert [layout.row_group(i).num_rows for i in range(layout.num_row_groups)] == [700] * 4 + [200]
    assert (first.rows, first.written, first.row_groups) == (3000, 3000, 5)
    assert file_metadata(tmp_path / "a.parquet") == {"model.name": "tiny", "model.version": "1"}


def test_reading_in_chunks_holds_one_chunk_at_a_time(tiny, tmp_path: Path) -> None:
    import os

    import pyarrow as pa

    _, rows = tiny
    pq.write_table(pa.Table.from_pandas(pd.concat([rows] * 20, ignore_index=True), preserve_index=False), tmp_path / "many.parquet",
                   row_group_size=1000)  # fmt: skip
    size, before = os.path.getsize(tmp_path / "many.parquet"), pa.total_allocated_bytes()
    _, chunks = read_chunks(tmp_path / "many.parquet", 1000)
    held = [pa.total_allocated_bytes() - before for chunk in chunks if chunk.num_rows == 1000]
    assert len(held) == 60 and max(held) < size / 10  # one of 60 row groups at a time, never the whole file


def test_csv_input_scores_like_parquet_and_explanations_add_up(tiny, tmp_path: Path) -> None:
    predictor, rows = tiny
    score_file(predictor, written(rows, tmp_path / "rows.csv"), tmp_path / "csv.parquet", ScoreOptions(chunk_rows=1000, explain=True))
    out = pd.read_parquet(tmp_path / "csv.parquet")
    assert np.allclose(out["prediction"], predictor.predict(rows), rtol=0, atol=1e-12)  # CSV round-trips floats to 17 digits
    contributions = out[[f"contrib__{name}" for name in ("spend", "age", "plan")]].sum(axis=1) + out["contrib__base"]
    assert np.allclose(1 / (1 + np.exp(-contributions)), out["prediction"], rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    ("change", "column", "constraint", "count", "first"),
    [
        (lambda f: f.assign(age=f.age.where(~f.index.isin([5, 2500]), 95)), "age", "le: 90", 2, 5),
        (lambda f: f.assign(plan=f.plan.where(f.index != 1234, "gold")), "plan", "isin: [basic, premium, standard]", 1, 1234),
        (lambda f: f.assign(spend=f.spend.where(~f.index.isin([10, 11, 12]), np.nan)), "spend", "nullable: false", 3, 10),
    ],
)
def test_rows_breaking_a_declared_check_are_refused_counted_and_nothing_written(tiny, tmp_path: Path, change, column, constraint, count, first) -> None:
    predictor, rows = tiny
    source = written(change(rows.copy()), tmp_path / "bad.parquet")
    with pytest.raises(ServingError) as refused:
        score_file(predictor, source, tmp_path / "out.parquet", ScoreOptions(chunk_rows=1000))
    message = str(refused.value)
    assert f"column '{column}' breaks its declared check '{constraint}': {count} row(s), the first at row {first}" in message
    assert refused.value.column == column and refused.value.exit_code == 2
    assert list(tmp_path.glob("*out.parquet*")) == []  # neither the output nor its partial file
    report = score_file(predictor, source, tmp_path / "out.parquet", ScoreOptions(chunk_rows=1000, on_invalid=OnInvalid.skip))
    kept = pd.read_parquet(tmp_path / "out.parquet")
    assert (report.rows, report.written, report.skipped_rows) == (3000, 3000 - count, count) == (3000, len(kept), count)
    assert [(b.column, b.constraint, b.count, b.first_row) for b in report.skipped] == [(column, constraint, count, first)]


def test_a_column_of_the_wrong_type_or_named_prediction_is_refused_before_anything_runs(tiny, tmp_path: Path) -> None:
    predictor, rows = tiny
    with pytest.raises(ServingError, match=r"column 'age' is (large_)?string, declared int64") as refused:
        score_file(predictor, written(rows.astype({"age": str}), tmp_path / "a.parquet"), tmp_path / "o.parquet", ScoreOptions())
    assert refused.value.column == "age"
    with pytest.raises(ServingError, match=r"column\(s\) prediction would be overwritten"):
        score_file(predictor, written(rows.assign(prediction=1.0), tmp_path / "p.parquet"), tmp_path / "o.parquet", ScoreOptions())
    with pytest.raises(ServingError, match="lack spend|not columns of the input"):
        score_file(predictor, written(rows.drop(columns="spend"), tmp_path / "s.parquet"), tmp_path / "o.parquet", ScoreOptions())
    assert not (tmp_path / "o.parquet").exists()


# ---------------------------------------------------------------- a trained, promoted churn project (slow)

CUSTOMERS = 600


@pytest.fixture(scope="module")
def churn(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The churn project, features materialized, trained once (debug=fast) and promoted: churn@champion is v1."""
    project = Prepared.build(tmp_path_factory.mktemp("score"), CUSTOMERS).project
    for verb in (["train", "debug=fast"], ["promote"]):
        done = subprocess.run([HYDRAOPS, *verb], cwd=project, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
    return project


@pytest.fixture(scope="module")
def table(churn: Path) -> pd.DataFrame:
    """The training table the run was trained on."""
    [path] = (churn / "artifacts" / "offline_store" / "training_tables").glob("*.parquet")
    return pd.read_parquet(path)


@pytest.fixture
def score(hydraops: Run):
    """``hydraops score ARGS`` in the project (in this process: the module is ``in_process``)."""

    def call(churn: Path, *args: str) -> subprocess.CompletedProcess:
        return hydraops("score", *args, cwd=churn)

    return call


def registered(churn: Path):
    """(client, version 1's record) of the project's registry."""
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{churn}/artifacts/mlflow.db"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    return client, client.get_model_version("churn", "1")


@pytest.mark.slow
def test_scoring_the_training_rows_gives_the_models_predictions_and_its_test_metric(churn: Path, table: pd.DataFrame, tmp_path: Path, score) -> None:
    from sklearn.metrics import roc_auc_score

    from hydraops import load_spec
    from hydraops.serving import spec as serving_spec
    from hydraops.tracking.model_load import verified_model
    from hydraops.training.split import split_table

    done = score(churn, f"input={written(table, tmp_path / 'table.parquet')}", f"output={tmp_path / 'out.parquet'}", "chunk_rows=1000")
    assert done.returncode == 0, done.stderr
    assert f"{len(table):,} of {len(table):,} rows scored" in " ".join(done.stdout.split())
    out = pd.read_parquet(tmp_path / "out.parquet")
    client, version = registered(churn)
    assert file_metadata(tmp_path / "out.parquet") == {
        "model.name": "churn", "model.version": "1", "model.run_id": version.run_id, "model.flavor": "lightgbm",
        "model.sha256": version.tags["hydraops.model_sha256"], "version": __import__("hydraops").__version__,
    }  # fmt: skip
    spec = load_spec(churn)
    ref, inputs, _ = serving_spec.registered(client, "churn", "1", "champion")
    assert (ref.run_id, ref.flavor, ref.sha256) == (version.run_id, "lightgbm", version.tags["hydraops.model_sha256"])
    with verified_model(client, "models:/churn/1", version.tags) as model:
        predictor = Predictor(ServingSpec.create(spec, ref, inputs), model.local)
        assert np.array_equal(out["prediction"].to_numpy(), predictor.predict(table))
    labels = spec.features.labels
    test = split_table(out, spec.split, time_column=labels.timestamp, target=labels.target, task=spec.model.task).test
    logged = client.get_run(version.run_id).data.metrics["test.roc_auc"]
    assert roc_auc_score(test[labels.target], test["prediction"]) == pytest.approx(logged, abs=1e-12)


@pytest.mark.slow
def test_entity_rows_score_exactly_like_the_training_tables_features(churn: Path, table: pd.DataFrame, tmp_path: Path, score) -> None:
    features = tmp_path / "features.parquet"
    assert score(churn, f"input={written(table, tmp_path / 't.parquet')}", f"output={features}", "chunk_rows=1500").returncode == 0
    for name, keys in (("entities.parquet", table[["customer_id", "label_time"]]), ("entities.csv", table[["customer_id", "label_time"]])):
        out = tmp_path / f"{name}.scored.parquet"
        done = score(churn, f"input={written(keys, tmp_path / name)}", f"output={out}", "chunk_rows=1500", "alias=champion")
        assert done.returncode == 0, done.stderr
        assert "looked up point in time" in done.stdout
        assert np.array_equal(pd.read_parquet(out)["prediction"].to_numpy(), pd.read_parquet(features)["prediction"].to_numpy()), name
        assert list(pd.read_parquet(out).columns) == ["customer_id", "label_time", "prediction"]


@pytest.mark.slow
def test_the_cli_scores_the_same_bytes_twice_in_several_row_groups(churn: Path, table: pd.DataFrame, tmp_path: Path, score) -> None:
    keys = written(table[["customer_id", "label_time"]].head(1200), tmp_path / "keys.parquet")
    for out in ("a.parquet", "b.parquet"):
        assert score(churn, f"input={keys}", f"output={tmp_path / out}", "chunk_rows=500", "explain=true").returncode == 0
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    layout = pq.ParquetFile(tmp_path / "a.parquet").metadata
    assert [layout.row_group(i).num_rows for i in range(layout.num_row_groups)] == [500, 500, 200]
    assert "contrib__age" in pq.read_schema(tmp_path / "a.parquet").names


@pytest.mark.slow
def test_bad_rows_and_an_unknown_alias_exit_2_naming_them(churn: Path, table: pd.DataFrame, tmp_path: Path, score) -> None:
    bad = written(table.assign(age=table.age.where(table.index != 7, 120)), tmp_path / "bad.parquet")
    done = score(churn, f"input={bad}", f"output={tmp_path / 'out.parquet'}")
    assert done.returncode == 2 and "column 'age' breaks its declared check 'le: 90': 1 row(s), the first at row 7" in done.stderr
    assert not (tmp_path / "out.parquet").exists()
    skipped = score(churn, f"input={bad}", f"output={tmp_path / 'out.parquet'}", "on_invalid=skip")
    assert skipped.returncode == 0 and "1 rows skipped" in " ".join(skipped.stdout.split())
    assert len(pd.read_parquet(tmp_path / "out.parquet")) == len(table) - 1
    unknown = score(churn, f"input={bad}", f"output={tmp_path / 'x.parquet'}", "alias=nightly")
    assert unknown.returncode == 2 and "no alias 'nightly' (aliases: champion → v1)" in unknown.stderr
    ids = score(churn, f"input={written(table[['customer_id']], tmp_path / 'ids.parquet')}", f"output={tmp_path / 'x.parquet'}")
    assert ids.returncode == 2 and "the input lacks label_time; columns: customer_id" in ids.stderr  # no instant to look up at
    missing = score(churn, f"input={tmp_path / 'nothing.parquet'}", f"output={tmp_path / 'x.parquet'}")
    assert missing.returncode == 2 and "no such file" in missing.stderr


@pytest.mark.slow
def test_apply_plans_no_scoring_and_a_dry_run_shows_the_version(churn: Path, table: pd.DataFrame, tmp_path: Path, score) -> None:
    from hydraops import RunContext, build_plan, load_spec

    ctx = RunContext.create(load_spec(churn))
    assert build_plan(ctx.spec, ctx).stage("score") == []
    keys = written(table[["customer_id", "label_time"]].head(10), tmp_path / "keys.parquet")
    done = score(churn, f"input={keys}", f"output={tmp_path / 'o.parquet'}", "dry_run=true")
    assert done.returncode == 0 and "score" in done.stdout and "models:/churn/1 (champion)" in done.stdout
    assert not (tmp_path / "o.parquet").exists()


def plain(frame: pd.DataFrame, integers: set[str] = frozenset()) -> list[dict]:
    """The rows as JSON values: numpy scalars as Python ones (``integers`` as ints: a count read back as a float),
    missing values as null (floats round-trip exactly)."""

    def value(name, v):
        if pd.isna(v):
            return None
        v = v.item() if hasattr(v, "item") else v
        return int(v) if name in integers else v

    return [{k: value(k, v) for k, v in row.items()} for row in frame.to_dict("records")]


@pytest.mark.slow
def test_served_predictions_equal_batch_scoring_and_the_model_on_the_test_split_bit_for_bit(churn: Path, table: pd.DataFrame, tmp_path: Path) -> None:
    """churn@champion's build context served by the real service: the test split's rows (features given) are
    served exactly as the model predicts them in-process and as `score_file` scores them; entity rows looked up
    online (values written as of the last label time) are served as batch scoring looks them up point in time."""
    from datetime import UTC, datetime

    import httpx

    from hydraops import load_spec
    from hydraops.features import FeatureRepo
    from hydraops.features.online import SqliteOnlineStore
    from hydraops.features.online.base import OnlineRow
    from hydraops.plan.context import RunContext
    from hydraops.serving.stage import plan, write_context
    from hydraops.testing.bundles import running_service
    from hydraops.training.split import split_table

    spec = load_spec(churn)
    ctx = RunContext.create(spec)
    (action,) = plan(spec, ctx, required=True)
    context = write_context(action, ctx)
    serving = ServingSpec.from_json((context / "serving.json").read_text())
    predictor = Predictor(serving, context / "model")
    labels = spec.features.labels
    test = split_table(table, spec.split, time_column=labels.timestamp, target=labels.target, task=spec.model.task).test.reset_index(drop=True)
    features = test[serving.feature_names]
    integers = {f.name for f in serving.features if f.dtype == "int64"}
    score_file(predictor, written(test, tmp_path / "test.parquet"), tmp_path / "test.scored.parquet", ScoreOptions(chunk_rows=250))
    batch = pd.read_parquet(tmp_path / "test.scored.parquet")["prediction"].to_numpy()

    latest = table.sort_values(labels.timestamp).groupby("customer_id").tail(1).head(40).reset_index(drop=True)  # one row per customer
    now = datetime.now(UTC)
    with SqliteOnlineStore(spec.stack.online_store.path) as store:
        for view in serving.views:
            rows = [OnlineRow((int(row["customer_id"]),), now, plain(latest.loc[[i], view.features], integers)[0]) for i, row in latest.iterrows()]
            store.write(view.name, rows, as_of=now)
    entities = written(latest[["customer_id", labels.timestamp]], tmp_path / "entities.parquet")
    score_file(predictor, entities, tmp_path / "entities.scored.parquet", ScoreOptions(timestamp=labels.timestamp), repo=FeatureRepo.from_spec(spec))
    looked_up_batch = pd.read_parquet(tmp_path / "entities.scored.parquet")["prediction"].to_numpy()

    with running_service(context) as url, httpx.Client(base_url=url, timeout=30) as http:
        served = []
        for start in range(0, len(features), 500):
            response = http.post("/predict", json={"rows": plain(features.iloc[start : start + 500], integers)})
            assert response.status_code == 200, response.text
            served += response.json()["predictions"]
        response = http.post("/predict", json={"rows": [{"customer_id": int(c)} for c in latest["customer_id"]]})
        assert response.status_code == 200, response.text
        looked_up = response.json()
    assert len(served) == len(test) > 50
    assert np.array_equal(np.asarray(served), predictor.predict(features)), "served = the model in-process"
    assert np.array_equal(np.asarray(served), batch), "served = batch scoring, features given"
    assert {cell["status"] for row in looked_up["features"] for cell in row.values()} == {"present"}
    assert np.array_equal(np.asarray(looked_up["predictions"]), looked_up_batch), "served with online lookup = batch with point-in-time lookup"
