"""Calibration with the default thresholds, seeded: on no-drift data (fresh samples of the reference's
distributions) at most 1 % of columns are flagged at 1e3, 1e4 and 1e5 rows; a 0.5 std mean shift of a numeric
column is flagged in at least 95 % of trials from 1,000 rows on. (1e6 and 1e7 rows: benchmarks/monitor.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from hydraops.monitoring.drift import Method, column_drift
from hydraops.monitoring.profile import Profile, build_profile
from hydraops.testing.drift_data import COLUMNS, NUMERIC, sample

REFERENCE_ROWS = 100_000


@pytest.fixture(scope="module")
def reference() -> Profile:
    return build_profile(sample(COLUMNS, REFERENCE_ROWS, np.random.default_rng(20261130)))


def flagged(reference: Profile, n: int, trials: int, seed: int, shift: dict[str, float] | None = None, columns=COLUMNS) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    counts = dict.fromkeys(columns, 0)
    for _ in range(trials):
        current = sample(columns, n, rng, shift=shift)
        for name in columns:
            counts[name] += column_drift(reference.features[name], current[name]).drifted
    return counts


@pytest.mark.parametrize(("n", "trials"), [(1_000, 100), (10_000, 20), (100_000, 4)])
def test_no_drift_flags_at_most_one_percent_of_columns(reference: Profile, n: int, trials: int) -> None:
    counts = flagged(reference, n, trials, seed=n)
    share = sum(counts.values()) / (trials * len(COLUMNS))
    assert share <= 0.01, counts


@pytest.mark.parametrize(("n", "trials"), [(1_000, 20), (10_000, 5), (100_000, 2)])
def test_a_half_std_shift_of_one_numeric_column_is_flagged(reference: Profile, n: int, trials: int) -> None:
    for name in NUMERIC:
        counts = flagged(reference, n, trials, seed=n + 1, shift={name: 0.5}, columns=(name,))
        assert counts[name] >= 0.95 * trials, (name, counts)


def test_below_the_small_sample_size_a_test_flags_about_its_p_value(reference: Profile) -> None:
    """A p-value test flags ~5 % of no-drift samples by design (the KS one at most that: it is conservative),
    and still sees a 0.5 std shift in 300 rows."""
    counts = flagged(reference, 300, 50, seed=3)
    assert sum(counts.values()) / (50 * len(COLUMNS)) <= 0.08, counts
    assert column_drift(reference.features["normal"], sample(["normal"], 10, np.random.default_rng(4))["normal"]).method is Method.ks
    assert flagged(reference, 300, 20, seed=5, shift={"normal": 0.5}, columns=("normal",))["normal"] >= 19
