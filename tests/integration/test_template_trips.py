"""The trips template end to end: `hydraops init --template trips`, generated data, the whole lifecycle.

Two entities per training table (zone, driver), a static source, late-arriving rows, `include_current: false`,
request-time features and a regression target, all on one small project."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import HYDRAOPS, Run

pytestmark = pytest.mark.slow

VIEWS = {
    "zone_conditions_now": ["demand_index", "rain_mm"],
    "driver_profile": ["vehicle_type", "years_licensed"],
    "driver_history": [f"{c}_{a}_{w}" for c, a in [("trip_id", "count"), ("duration_min", "mean"), ("fare", "mean")] for w in ("7d", "30d")],
    "zone_demand": ["trip_id_count_1h", "trip_id_count_3h"],
}
REQUEST_TIME = ["distance_km", "passengers"]
US = pd.Timedelta(microseconds=1)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, hydraops_module: Run) -> Path:
    """`hydraops init demo --template trips`, small generated data, then `hydraops apply`."""
    root = tmp_path_factory.mktemp("trips")
    home = {"HYDRAOPS_HOME": str(root / "home")}
    created = hydraops_module("init", "demo", "--template", "trips", cwd=root, env=home)
    assert created.returncode == 0, created.stderr
    project = root / "demo"
    size = ["--zones", "8", "--drivers", "40", "--trips", "4000", "--months", "2", "--seed", "3"]
    generated = subprocess.run([sys.executable, "generate_data.py", *size], cwd=project, capture_output=True, text=True)
    assert generated.returncode == 0, generated.stderr
    assert hydraops_module("validate", cwd=project).returncode == 0
    applied = hydraops_module("apply", "debug=fast", cwd=project)
    assert applied.returncode == 0, applied.stderr + applied.stdout
    return project


@pytest.fixture(scope="module")
def hydraops_module() -> Run:
    """Run the installed ``hydraops`` command, as the ``hydraops`` fixture does, for module-scoped fixtures."""

    def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        environment = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"} | (env or {})
        return subprocess.run([HYDRAOPS, *args], cwd=cwd, capture_output=True, text=True, env=environment, timeout=120)

    return run


@pytest.fixture(scope="module")
def table(project: Path, hydraops_module: Run) -> pd.DataFrame:
    built = hydraops_module("features", "training-table", "out=train.parquet", cwd=project)
    assert built.returncode == 0, built.stderr + built.stdout
    return pd.read_parquet(project / "train.parquet")


def test_init_renders_the_trips_project(project: Path) -> None:
    assert (project / "conf" / "project.yaml").read_text().strip().endswith("project: demo")
    assert (project / "README.md").is_file() and (project / "conf" / "features" / "trips.yaml").is_file()
    assert not (project / "copier.yml").exists()


def test_the_training_table_has_every_view_and_the_request_time_features(table: pd.DataFrame, project: Path) -> None:
    trips = pd.read_parquet(project / "data" / "trips.parquet")
    assert len(table) == len(trips)
    for view, names in VIEWS.items():
        assert set(names) <= set(table.columns), view
        assert table[names].notna().any().all(), f"{view}: every feature has values"
    assert table[REQUEST_TIME].equals(trips[REQUEST_TIME]), "the trip's own columns, row for row"
    assert "fare" not in table.columns, "a column of the labels not declared as a feature stays out"
    drivers = pd.read_parquet(project / "data" / "drivers.parquet").set_index("driver_id")
    assert (table["vehicle_type"].astype(str).to_numpy() == drivers.loc[table["driver_id"], "vehicle_type"].to_numpy()).all()


def test_driver_history_never_includes_the_trip_itself(table: pd.DataFrame, project: Path) -> None:
    trips = pd.read_parquet(project / "data" / "trips.parquet")
    first = table.loc[table.groupby("driver_id")["pickup_ts"].idxmin()]
    assert first[VIEWS["driver_history"]].isna().all().all(), "a driver's first trip has no history"

    busiest = trips["driver_id"].value_counts().index[0]
    own = trips[trips["driver_id"] == busiest].sort_values("pickup_ts")
    got = table[table["driver_id"] == busiest].set_index("pickup_ts").loc[own["pickup_ts"]]
    for pickup, row in got.iterrows():
        instant = pickup - US  # include_current: false → the values as of just before the pickup
        seen = own[own["pickup_ts"] <= instant]
        for window in ("7d", "30d"):
            recent = seen[seen["pickup_ts"] > instant - pd.Timedelta(window)]
            expected_count = np.nan if seen.empty else len(recent)
            np.testing.assert_equal(row[f"trip_id_count_{window}"], expected_count)
            for column in ("duration_min", "fare"):
                expected = np.nan if recent.empty else recent[column].mean()
                np.testing.assert_allclose(row[f"{column}_mean_{window}"], expected, rtol=1e-12, equal_nan=True)
    with_itself = (own["pickup_ts"].apply(lambda t: ((own["pickup_ts"] <= t) & (own["pickup_ts"] > t - pd.Timedelta("7d"))).sum())).to_numpy()
    assert (got["trip_id_count_7d"].fillna(0).to_numpy() == with_itself - 1).all(), "one less than counting the trip itself"


def test_a_model_version_is_registered_and_the_static_view_is_served_online(project: Path) -> None:
    from mlflow.tracking import MlflowClient

    from hydraops import load_spec
    from hydraops.features.online import get_online_features, open_online_store

    uri = f"sqlite:///{project}/artifacts/mlflow.db"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    [version] = client.search_model_versions("name='demo'")
    assert client.get_registered_model("demo").aliases == {"champion": version.version}
    metrics = client.get_run(version.run_id).data.metrics
    assert metrics["test.r2"] > 0.5, "duration is learnable from distance, conditions and the driver"

    spec = load_spec(project)
    drivers = pd.read_parquet(project / "data" / "drivers.parquet")
    with open_online_store(spec.stack.online_store, spec.project) as store:
        served = get_online_features(spec.features, store, [{"driver_id": 1, "pickup_zone": 1}])
    assert served[0].values["vehicle_type"] == drivers.loc[drivers["driver_id"] == 1, "vehicle_type"].item()
    assert "vehicle_type" not in served[0].missing + served[0].expired + served[0].later


def test_get_online_takes_the_keys_of_several_entities(project: Path, hydraops_module: Run) -> None:
    drivers = pd.read_parquet(project / "data" / "drivers.parquet")
    shown = hydraops_module("features", "get-online", "entity=driver_id:1,pickup_zone:1", cwd=project)
    assert shown.returncode == 0, shown.stderr
    assert "driver_id=1 pickup_zone=1" in shown.stdout and drivers.loc[drivers["driver_id"] == 1, "vehicle_type"].item() in shown.stdout
    unnamed = hydraops_module("features", "get-online", "entity=1", cwd=project)
    assert unnamed.returncode == 2 and "names its keys in a project of several join keys" in unnamed.stdout + unnamed.stderr


def test_a_second_apply_changes_nothing(project: Path, hydraops_module: Run) -> None:
    again = hydraops_module("apply", "debug=fast", cwd=project)
    assert again.returncode == 0, again.stderr
    assert "nothing changed" in again.stdout
