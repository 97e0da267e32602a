"""The order test files are handed to xdist workers: the longest first.

`--dist loadfile` runs each file whole on one worker and hands files out in queue order as workers free
up. pytest-xdist's own queue puts the files with the most tests first, so the few-test files that take
minutes (the docs pages, training) came last and one worker ran them while the other idled. With
`--no-loadscope-reorder` the queue is the collection order set here: files by their seconds in the last
full run (pytest's cache), longest first. A file this machine never timed (CI's fresh clone has no cache)
counts its seconds in KNOWN_SECONDS when listed there, else as UNTIMED_SLOW when it has a test marked slow,
else as short. Each file's tests stay together and in their order."""

from __future__ import annotations

from collections import defaultdict

import pytest

KEY = "hydraops/seconds_per_file"

#: Seconds of the longest files on two cores (rounded to 5, from the file times a whole run saves in pytest's cache): a fresh clone starts them
#: first instead of in collection order. Refresh them when a file's time changes by much.
KNOWN_SECONDS = {
    "tests/test_docs.py": 170.0,
    "tests/integration/test_demo.py": 150.0,
    "tests/training/test_train.py": 120.0,
    "tests/test_docs_readme.py": 105.0,
    "tests/registry/test_races.py": 95.0,
    "tests/test_docs_monitoring.py": 90.0,
    "tests/features/test_healing.py": 75.0,
    "tests/test_docs_lineage.py": 75.0,
    "tests/test_docs_registry.py": 65.0,
    "tests/test_docs_scoring.py": 65.0,
    "tests/tracking/test_lineage.py": 60.0,
    "tests/integration/test_validate_errors.py": 60.0,
    "tests/serving/test_score.py": 55.0,
    "tests/integration/test_cli.py": 55.0,
    "tests/monitoring/test_retrain.py": 50.0,
    "tests/training/test_run_endings.py": 50.0,
    "tests/features/test_materialize.py": 45.0,
    "tests/serving/test_build.py": 45.0,
    "tests/registry/test_promote.py": 40.0,
    "tests/configs/test_compose_all.py": 40.0,
    "tests/serving/test_benchmark_serving.py": 40.0,
    "tests/training/test_shared_stack.py": 40.0,
    "tests/integration/test_template_trips.py": 35.0,
    "tests/monitoring/test_end_to_end.py": 35.0,
    "tests/integration/test_apply.py": 35.0,
    "tests/test_docs_feature_store.py": 35.0,
    "tests/features/test_stage.py": 30.0,
    "tests/test_docs_experiments.py": 30.0,
    "tests/integration/test_replay_and_secrets.py": 25.0,
    "tests/features/test_aggregations.py": 25.0,
    "tests/serving/test_linear.py": 25.0,
    "tests/serving/test_prediction_log.py": 20.0,
}
UNTIMED_SLOW = 30.0


def longest_files_first(config: pytest.Config, items: list[pytest.Item]) -> None:
    cache = _cache(config)
    seconds = cache.get(KEY, {}) if cache else {}
    slow = {_file(item) for item in items if item.get_closest_marker("slow")}

    def cost(item: pytest.Item) -> float:
        file = _file(item)
        return seconds.get(file, KNOWN_SECONDS.get(file, UNTIMED_SLOW if file in slow else 0.0))

    items.sort(key=cost, reverse=True)  # stable: ties keep the collection order


class FileTimer:
    """Adds up each file's setup, call and teardown seconds; saved for the next run's order by a session
    that ran the whole selection (no -k, no -m) and is not itself an xdist worker."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[report.nodeid.split("::")[0]] += report.duration

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        config = session.config
        cache = _cache(config)
        if cache is None or hasattr(config, "workerinput") or config.option.keyword or config.option.markexpr:
            return
        cache.set(KEY, {**cache.get(KEY, {}), **{f: round(s, 1) for f, s in self.seconds.items()}})


def _file(item: pytest.Item) -> str:
    return item.nodeid.split("::")[0]


def _cache(config: pytest.Config):
    return getattr(config, "cache", None)
