"""``reference=PATH``: a profile JSON or reference rows instead of the version's own profile."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hydraops.errors import MonitoringError
from hydraops.monitoring.profile import build_profile
from hydraops.monitoring.reference import reference_from
from hydraops.testing.drift_data import sample

COLUMNS = ["normal", "exponential", "region"]


@pytest.fixture
def version_profile():
    rng = np.random.default_rng(0)
    return build_profile(sample(COLUMNS, 5_000, rng), pd.DataFrame({"prediction": rng.beta(2, 5, 5_000)}), {"roc_auc": 0.8})


def test_a_profile_json_is_read_as_it_was_logged(tmp_path: Path, version_profile) -> None:
    path = tmp_path / "reference_profile.json"
    other = build_profile(sample(COLUMNS, 2_000, np.random.default_rng(1), shift={"normal": 1.0}))
    path.write_text(other.to_json())
    assert reference_from(path, version_profile) == other


def test_reference_rows_are_profiled_with_the_versions_columns_and_metrics(tmp_path: Path, version_profile) -> None:
    rows = sample(COLUMNS, 3_000, np.random.default_rng(2)).assign(prediction=0.3, extra="x")
    rows.to_parquet(tmp_path / "reference.parquet")
    rows.to_csv(tmp_path / "reference.csv", index=False)
    for path in (tmp_path / "reference.parquet", tmp_path / "reference.csv"):
        found = reference_from(path, version_profile)
        assert list(found.features) == COLUMNS and list(found.predictions) == ["prediction"] and found.rows == 3_000
        assert found.metrics == {"roc_auc": 0.8} and found.features["normal"] == build_profile(rows[COLUMNS]).features["normal"]


def test_a_bad_reference_names_the_parameter_and_what_is_wrong(tmp_path: Path, version_profile) -> None:
    with pytest.raises(MonitoringError, match="reference=.*nowhere.parquet: no such file") as missing:
        reference_from(tmp_path / "nowhere.parquet", version_profile)
    assert missing.value.key == "reference"
    sample(["normal"], 100, np.random.default_rng(3)).to_parquet(tmp_path / "partial.parquet")
    with pytest.raises(MonitoringError, match="no column 'exponential', 'region' of the model's features"):
        reference_from(tmp_path / "partial.parquet", version_profile)
    (tmp_path / "bad.json").write_text('{"format": 1}')
    with pytest.raises(MonitoringError, match="not a reference profile"):
        reference_from(tmp_path / "bad.json", version_profile)
