"""The prediction log's and the shadow's declarations: composed from the stacks, checked with the key named."""

from __future__ import annotations

import pytest

from hydraops import ConfigError, load_spec
from hydraops.config.schemas import PredictionLogType
from tests.conftest import PROJECTS

CHURN = PROJECTS / "churn"


def test_each_stack_says_where_the_log_goes() -> None:
    local = load_spec(CHURN)
    assert local.stack.prediction_log.type is PredictionLogType.parquet
    assert local.stack.prediction_log.path == f"{local.paths.artifacts_dir}/prediction_log"
    log = local.deploy.service.prediction_log
    assert (log.enabled, log.queue_size, log.flush_rows, log.flush_seconds) == (True, 10_000, 1000, 5.0)
    assert local.deploy.shadow is None
    shared = load_spec(CHURN, ["stack=shared"])
    assert shared.stack.prediction_log.type is PredictionLogType.postgresql
    assert shared.stack.prediction_log.url.startswith("postgresql://") and shared.stack.prediction_log.table == "prediction_log"


@pytest.mark.parametrize(
    ("overrides", "key", "words"),
    [
        (["deploy.shadow=champion"], "deploy.shadow", "deploy.alias itself"),
        (["deploy.shadow=prod"], "deploy.shadow", "unknown alias 'prod'"),
        (["deploy.shadow=challenger", "deploy.service.prediction_log.enabled=false"], "deploy.shadow", "only logged"),
        (["deploy.service.prediction_log.queue_size=0"], "deploy.service.prediction_log.queue_size", "at least 1"),
        (["deploy.service.prediction_log.flush_rows=20000"], "deploy.service.prediction_log.flush_rows", "at most queue_size"),
        (["deploy.service.prediction_log.flush_seconds=0"], "deploy.service.prediction_log.flush_seconds", "> 0"),
        (["stack.prediction_log=null"], "stack.prediction_log", "the stack says nowhere"),
        (["stack.prediction_log.table=a-b"], "stack.prediction_log.table", "schema.table"),
        (["stack=shared", "stack.prediction_log.url=mysql://x/y"], "stack.prediction_log.url", "postgresql://"),
    ],
)
def test_a_bad_declaration_names_its_key(overrides: list[str], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_spec(CHURN, overrides)
    problems = {problem.key: problem.message for problem in caught.value.problems}
    assert key in problems and words in problems[key], problems


def test_a_challenger_shadow_and_no_log_at_all_are_valid() -> None:
    assert load_spec(CHURN, ["deploy.shadow=challenger"]).deploy.shadow == "challenger"
    assert load_spec(CHURN, ["stack.prediction_log=null", "deploy.service.prediction_log.enabled=false"]).stack.prediction_log is None
