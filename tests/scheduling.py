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

#: Seconds of the longest files on CI's two cores (rounded, from its --durations): a fresh clone starts them
#: first instead of in collection order. Refresh them when a file's time changes by much.
KNOWN_SECONDS = {
    "tests/test_docs.py": 100.0,
    "tests/test_docs_readme.py": 85.0,
    "tests/integration/test_demo.py": 110.0,  # with the closed loop (drifted traffic, monitor, retrain, lineage)
    "tests/test_docs_monitoring.py": 110.0,
    "tests/test_docs_lineage.py": 90.0,
    "tests/monitoring/test_retrain.py": 90.0,
    "tests/tracking/test_lineage.py": 50.0,
    "tests/test_docs_scoring.py": 50.0,
    "tests/test_docs_registry.py": 49.0,
    "tests/test_docs_feature_store.py": 34.0,
    "tests/test_docs_experiments.py": 33.0,
    "tests/monitoring/test_end_to_end.py": 27.0,
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
