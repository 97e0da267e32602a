"""split_table: time cuts (ordering, ties, gap, fractions), random cuts (seeded, stratified), and its errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hydraops.config.durations import parse_duration
from hydraops.config.schemas import SplitSpec, Task
from hydraops.training.split import Splits, TrainingError, split_table

CLS, REG = Task.classification, Task.regression


def table(n: int = 100, *, seed: int = 0, freq: str = "h", tz: str | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "ts": pd.date_range("2024-01-01", periods=n, freq=freq, tz=tz),
        "x": rng.normal(size=n),
        "y": np.arange(n) % 2,
    })  # fmt: skip
    return frame.sample(frac=1, random_state=seed)  # not in time order, index shuffled


def time_split(frame: pd.DataFrame, task: Task = CLS, **spec) -> Splits:
    return split_table(frame, SplitSpec(method="time", seed=0, **spec), time_column="ts", target="y", task=task)


def random_split(frame: pd.DataFrame, task: Task = CLS, **spec) -> Splits:
    return split_table(frame, SplitSpec(method="random", **{"seed": 0, **spec}), time_column=None, target="y", task=task)


def assert_in_input_order(parts: Splits, frame: pd.DataFrame) -> None:
    position = {label: i for i, label in enumerate(frame.index)}
    for part in (parts.train, parts.valid, parts.test):
        positions = [position[label] for label in part.index]
        assert positions == sorted(positions)


def test_time_split_orders_parts_in_time_and_respects_fractions():
    frame = table(100)
    parts = time_split(frame)
    assert parts.sizes() == {"train": 70, "valid": 15, "test": 15}
    assert parts.train.ts.max() < parts.valid.ts.min() <= parts.valid.ts.max() < parts.test.ts.min()
    assert sorted(pd.concat([parts.train, parts.valid, parts.test]).index) == sorted(frame.index)
    assert_in_input_order(parts, frame)


def test_time_split_never_cuts_through_rows_sharing_a_timestamp():
    frame = table(100, freq="h")
    frame["ts"] = frame.ts.dt.floor("D")  # 24 rows per day: cuts can only fall between days
    parts = time_split(frame, valid_fraction=0.2, test_fraction=0.2)
    assert set(parts.train.ts).isdisjoint(parts.valid.ts) and set(parts.valid.ts).isdisjoint(parts.test.ts)
    assert parts.sizes() == {"train": 48, "valid": 24, "test": 28}


def test_time_split_gap_drops_rows_just_before_each_later_part():
    frame = table(100, freq="D")
    parts = time_split(frame, gap="2d")
    assert parts.sizes() == {"train": 68, "valid": 13, "test": 15}
    for earlier, later in ((parts.train, parts.valid), (parts.valid, parts.test)):
        assert later.ts.min() - earlier.ts.max() > pd.Timedelta(days=2)


def test_time_split_column_overrides_labels_timestamp_and_accepts_time_zones():
    frame = table(50, tz="Europe/Paris").rename(columns={"ts": "event_time"})
    spec = SplitSpec(method="time", column="event_time", seed=0)
    parts = split_table(frame, spec, time_column="ignored", target="y", task=CLS)
    assert parts.train.event_time.max() < parts.valid.event_time.min()


def test_time_split_without_valid_part():
    parts = time_split(table(40), valid_fraction=0.0, test_fraction=0.25)
    assert parts.sizes() == {"train": 30, "valid": 0, "test": 10}


def test_splits_are_deterministic():
    frame = table(120)
    for split in (time_split, random_split):
        first, second = split(frame), split(frame.copy())
        for a, b in zip((first.train, first.valid, first.test), (second.train, second.valid, second.test)):
            pd.testing.assert_frame_equal(a, b)


def test_random_split_is_seeded_stratified_and_keeps_row_order():
    frame = table(200)
    frame["y"] = (np.arange(200) % 10 == 0).astype(int)  # 10 % positives
    parts = random_split(frame)
    assert parts.sizes() == {"train": 140, "valid": 30, "test": 30}
    assert [part.y.sum() for part in (parts.train, parts.valid, parts.test)] == [14, 3, 3]
    assert_in_input_order(parts, frame)
    assert not random_split(frame, seed=1).test.index.equals(parts.test.index)


def test_random_split_regression_ignores_stratify_and_allows_no_valid():
    frame = table(50).assign(y=lambda f: f.x * 3)
    parts = random_split(frame, REG, valid_fraction=0.0, test_fraction=0.2)
    assert parts.sizes() == {"train": 40, "valid": 0, "test": 10}


# ---- properties of the time split ---------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    days=st.lists(st.integers(0, 40), min_size=20, max_size=150),
    valid=st.sampled_from([0.0, 0.1, 0.2, 0.3]),
    test=st.sampled_from([0.1, 0.2, 0.3]),
    gap=st.sampled_from(["1d", "3d"]),
)
def test_time_split_properties(days, valid, test, gap):
    frame = pd.DataFrame({"ts": pd.Timestamp("2024-01-01") + pd.to_timedelta(days, unit="D"), "y": range(len(days))})
    try:
        parts = time_split(frame, REG, valid_fraction=valid, test_fraction=test)
    except TrainingError as error:  # too few instants for the parts asked for: said so, with the counts
        assert "got no rows" in str(error) and "split.test_fraction" in str(error)
        with pytest.raises(TrainingError, match="got no rows"):
            time_split(frame, REG, valid_fraction=valid, test_fraction=test, gap=gap)
        return
    train, middle, last = parts.train, parts.valid, parts.test
    # no time overlap, and ties never straddle a cut
    nonempty = [part.ts for part in (train, middle, last) if len(part)]
    for earlier, later in zip(nonempty, nonempty[1:]):
        assert earlier.max() < later.min()
    # rows partition the input exactly, each part in input order
    assert sorted(pd.concat([train, middle, last]).index) == list(range(len(frame)))
    assert_in_input_order(parts, frame)
    # each cut sits at the boundary between instants nearest its share of rows
    n, largest_tie = len(frame), frame.ts.value_counts().max()
    assert abs(len(train) - n * (1 - valid - test)) <= largest_tie / 2 + 1e-6
    assert abs(len(last) - n * test) <= largest_tie / 2 + 1e-6
    assert middle.empty == (valid == 0)
    # the gap only drops the rows within `gap` before the next part's start, from the earlier part
    width = parse_duration(gap)
    expected = {
        "train": train[train.ts < (middle if len(middle) else last).ts.min() - width],
        "valid": middle[middle.ts < last.ts.min() - width],
        "test": last,
    }
    try:
        gapped = time_split(frame, REG, valid_fraction=valid, test_fraction=test, gap=gap)
    except TrainingError as error:
        empty = [part for part, rows in expected.items() if rows.empty]
        assert empty and f"the {empty[0]} part got no rows" in str(error)
        return
    for part, rows in expected.items():
        assert getattr(gapped, part).index.equals(rows.index)


# ---- errors -------------------------------------------------------------------------------------------------


def test_missing_time_column_names_the_config_key():
    frame = table(20).drop(columns="ts")
    with pytest.raises(TrainingError, match=r"features\.labels\.timestamp: time column 'ts' is not in"):
        time_split(frame)
    with pytest.raises(TrainingError, match=r"split\.column: time column 'when' is not in"):
        split_table(table(20), SplitSpec(method="time", column="when", seed=0), time_column="ts", target="y", task=CLS)
    with pytest.raises(TrainingError, match=r"split\.column: method=time needs a timestamp column"):
        split_table(table(20), SplitSpec(method="time", seed=0), time_column=None, target="y", task=CLS)


def test_time_column_must_hold_timestamps():
    frame = table(20).assign(ts=lambda f: f.ts.astype(str))
    with pytest.raises(TrainingError, match=r"features\.labels\.timestamp: .* must hold timestamps, found dtype"):
        time_split(frame)


def test_missing_target_names_the_config_key():
    with pytest.raises(TrainingError, match=r"features\.labels\.target: column 'label' is not in the training table"):
        split_table(table(20), SplitSpec(method="random", seed=0), time_column="ts", target="label", task=CLS)


def test_an_empty_part_says_how_many_rows_each_part_got():
    frame = table(30).assign(ts=pd.Timestamp("2024-01-01"))  # one instant: everything lands on one side
    with pytest.raises(TrainingError, match=r"the test part got no rows \(train=30, valid=0, test=0\).*split\.gap"):
        time_split(frame)
    with pytest.raises(TrainingError, match=r"the train part got no rows \(train=0, valid=0, test=4\)"):
        time_split(table(5, freq="D"), test_fraction=0.8, valid_fraction=0.0, gap="1d")
    with pytest.raises(TrainingError, match=r"the valid part got no rows \(train=3, valid=0, test=3\)"):
        time_split(table(10, freq="D"), valid_fraction=0.2, test_fraction=0.3, gap="2d")  # the gap ate valid


def test_a_part_with_a_single_class_is_refused():
    frame = table(40).assign(y=lambda f: (f.ts >= f.ts.min() + pd.Timedelta("30h")).astype(int))
    with pytest.raises(TrainingError, match=r"the train part has only class \[0\].*train=28, valid=6, test=6.*split\.valid_fraction"):
        time_split(frame)


def test_stratify_impossible_suggests_turning_it_off():
    frame = table(20).assign(y=[1] + [0] * 19)
    with pytest.raises(TrainingError, match=r"split\.stratify: cannot stratify 20 rows by 'y'"):
        random_split(frame)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"valid_fraction": 0.6, "test_fraction": 0.4}, r"split\.valid_fraction \+ split\.test_fraction must be below 1"),
        ({"test_fraction": -0.1}, r"split\.test_fraction: expected a fraction in \[0, 1\), found -0\.1"),
        ({"gap": "two days"}, r"split\.gap: 'two days' is not a duration"),
    ],
)
def test_bad_split_settings(spec, message):
    with pytest.raises(TrainingError, match=message):
        time_split(table(20), **spec)


def test_training_error_exits_with_2():
    assert TrainingError.exit_code == 2
