"""`hydraops monitor`'s choice of current data: a file, or the prediction log's window from window=/start=/end=
(end defaulting to now), and the usage errors of a bad combination."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from hydraops.cli.monitor_verb import _current
from hydraops.config.schemas import MonitorSpec
from hydraops.errors import UsageError
from hydraops.monitoring.stage import MonitorDrift
from hydraops.plan.model import Effect

END = datetime(2026, 11, 23, tzinfo=UTC)


def spec(**monitor) -> SimpleNamespace:
    return SimpleNamespace(monitor=MonitorSpec(report_dir="r", **monitor))


def test_a_window_ends_now_or_at_end_and_a_file_is_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYDRAOPS_PREDICTION_LOG_URL", "postgresql://monitor:secret@db:5432/prod")
    chosen = _current(spec(), {"window": "7d", "end": END})
    assert chosen == {"start": END - timedelta(days=7), "end": END, "log_url": "postgresql://monitor:secret@db:5432/prod"}
    assert _current(spec(), {"start": END - timedelta(days=2), "window": "1d"})["end"] == END - timedelta(days=1)
    around_now = _current(spec(window="3d"), {})
    assert abs(around_now["end"] - datetime.now(UTC)) < timedelta(minutes=1) and around_now["end"] - around_now["start"] == timedelta(days=3)
    log = "postgresql://monitor:secret@db:5432/prod"  # for a file too: performance (labels=) joins the labels to the log
    assert _current(spec(current="x.parquet", window="3d"), {}) == {"current": Path("x.parquet").absolute(), "log_url": log}, "monitor.current first"
    assert "current" not in _current(spec(current="x.parquet"), {"window": "1d"}), "window= on the command line beats monitor.current"


@pytest.mark.parametrize(
    ("options", "key", "message"),
    [
        ({}, "current", "needs current=PATH .* or window=7d"),
        ({"current": "x.parquet", "window": "1d"}, "current", "not both"),
        ({"window": "a week"}, "window", "window=a week: 'a week' is not a duration"),
        ({"window": "1d", "start": END, "end": END}, "window", "give two of window=, start=, end="),
        ({"start": END, "end": END}, "start", "is empty: start must be before end"),
    ],
)
def test_bad_combinations_name_their_parameter(options: dict, key: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        _current(spec(), options)
    assert caught.value.key == key


def test_the_planned_step_names_the_window_and_never_shows_the_credentials() -> None:
    action = MonitorDrift(effect=Effect.check, output=Path("v.json"), model="churn", version="3", run_id="r", log="postgresql://db:5432/prod",
                          log_table="prediction_log", start=END - timedelta(days=7), end=END, log_url="postgresql://monitor:secret@db:5432/prod")  # fmt: skip
    assert action.name == "drift of the prediction log over [2026-11-16T00:00:00Z, 2026-11-23T00:00:00Z) against churn v3's reference profile"
    assert action.inputs[0] == "postgresql://db:5432/prod (table prediction_log): rows of churn at [2026-11-16T00:00:00Z, 2026-11-23T00:00:00Z)"
    assert "secret" not in str(action.to_dict()) and "secret" not in repr(action)
