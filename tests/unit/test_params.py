"""A verb's parameters, parsed once at the edge: typed values, defaults, one UsageError for every bad one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from hydraops.cli import MATERIALIZE_PARAMS, PROMOTE_PARAMS, SAMPLE, VERBS
from hydraops.cli.params import Kind, Param, parse_params, verb_help
from hydraops.errors import UsageError


def test_values_are_typed_and_defaults_filled_in() -> None:
    parsed = parse_params(MATERIALIZE_PARAMS, {"start": "2025-01-01", "end": "2025-02-01T12:00:00+02:00"}, "hydraops x")
    assert parsed == {
        "start": datetime(2025, 1, 1, tzinfo=UTC),  # a naive moment is UTC
        "end": datetime(2025, 2, 1, 12, tzinfo=timezone(timedelta(hours=2))),
        "force": False,
    }
    assert parse_params(PROMOTE_PARAMS, {"version": "3", "approve": "yes"}, "x") == {"version": 3, "dry_run": False, "approve": True}
    assert parse_params((SAMPLE,), {}, "x") == {"sample": 100}
    assert parse_params((Param("out", Kind.PATH, "a file"),), {"out": "t.parquet"}, "x") == {"out": Path("t.parquet")}
    assert parse_params((Param("view", Kind.TEXT, "a view"),), {}, "x") == {}, "no default: absent, not None"


@pytest.mark.parametrize(
    ("params", "given", "message"),
    [
        (PROMOTE_PARAMS, {"version": "abc"}, "version=abc: expected a version number, e.g. version=3"),
        (PROMOTE_PARAMS, {"version": "0"}, "version=0: expected a version number, e.g. version=3"),
        (PROMOTE_PARAMS, {"dry_run": "maybe"}, "dry_run=maybe: expected true or false"),
        (MATERIALIZE_PARAMS, {"start": "yesterday"}, "start=yesterday: expected a date (YYYY-MM-DD) or an ISO timestamp"),
        ((SAMPLE,), {"sample": "1.5"}, "sample=1.5: expected a whole number of at least 1, e.g. sample=100"),
        ((Param("view", Kind.TEXT, "a view"),), {"view": ""}, "view=: expected a value after '='"),
    ],
)
def test_a_bad_value_is_a_usage_error_naming_it(params: tuple[Param, ...], given: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_params(params, given, "hydraops verb")
    assert str(caught.value) == f"{message}\nhint: `hydraops verb --help` lists its parameters"
    assert caught.value.key == next(iter(given)) and caught.value.exit_code == 2


def test_every_bad_parameter_is_reported_at_once() -> None:
    with pytest.raises(UsageError) as caught:
        parse_params(MATERIALIZE_PARAMS, {"start": "soon", "end": "2025-01-01", "force": "please"}, "hydraops features materialize")
    assert str(caught.value).splitlines()[:3] == [
        "2 bad parameters:",
        "  start=soon: expected a date (YYYY-MM-DD) or an ISO timestamp",
        "  force=please: expected true or false",
    ]


def test_a_required_parameter_not_given_is_a_usage_error() -> None:
    from hydraops.cli import GET_ONLINE_PARAMS

    with pytest.raises(
        UsageError,
        match=r"^entity=… is required: the entity key\(s\), e.g. entity=42, entity=42,43, or entity=pickup_zone:3,driver_id:7 \(several join keys\)\n",
    ):
        parse_params(GET_ONLINE_PARAMS, {"at": "2026-01-01"}, "hydraops features get-online")
    assert verb_help("x", "y", GET_ONLINE_PARAMS).splitlines()[4].split()[:3] == ["entity=", "text", "required"]


def test_help_lists_each_parameter_with_its_type_default_and_help() -> None:
    summary, verb = VERBS["features materialize"]
    text = verb_help("hydraops features materialize", summary, verb.params)
    assert text.startswith(f"hydraops features materialize: {summary}\n")
    rows = {line.split()[0]: line.split() for line in text.splitlines() if line.startswith("  ")}
    assert rows["start="][1:3] == ["date|timestamp", "-"] and rows["force="][1:3] == ["true|false", "false"]
    assert "recompute and push every view" in text
