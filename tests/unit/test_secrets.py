"""Secrets never logged: URL passwords, ``${oc.env:...}`` values, secret-named keys; the config digest does not
depend on them."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from hydraops.config.compose import compose_project
from hydraops.config.secrets import REDACTED, Redactor, redact_url, redacted_config
from hydraops.tracking.lineage import command_line, config_digest
from tests.conftest import PROJECTS


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("redis://:hunter2@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("postgresql://mlflow:pw%40x@db:5432/mlflow", "postgresql://mlflow:***@db:5432/mlflow"),
        ("url=https://u:p@h/x and redis://:q@r", "url=https://u:***@h/x and redis://:***@r"),
        ("http://127.0.0.1:5000/path", "http://127.0.0.1:5000/path"),
        ("sqlite:////tmp/a:b/mlflow.db", "sqlite:////tmp/a:b/mlflow.db"),
    ],
)
def test_url_passwords(text: str, shown: str) -> None:
    assert redact_url(text) == shown


def test_environment_values_secret_keys_and_references() -> None:
    import os

    os.environ["HYDRAOPS_TEST_PW"] = "env-secret-value-1"
    cfg = OmegaConf.create({
        "db": {"url": "postgresql://u:${oc.env:HYDRAOPS_TEST_PW}@h/db", "password": "literal-secret-2", "user": "u"},
        "copy": "${db.password}", "mention": "pw is literal-secret-2 here", "plain": "${oc.env:HYDRAOPS_TEST_PW}",
        "listed": ["${oc.env:HYDRAOPS_TEST_PW}", 3],
    })  # fmt: skip
    logged = Redactor.of(cfg).config(cfg)
    assert logged == {
        "db": {"url": "postgresql://u:***@h/db", "password": REDACTED, "user": "u"},
        "copy": REDACTED, "mention": f"pw is {REDACTED} here", "plain": "${oc.env:HYDRAOPS_TEST_PW}",
        "listed": ["${oc.env:HYDRAOPS_TEST_PW}", 3],
    }  # fmt: skip
    assert "env-secret-value-1" not in str(logged) and "literal-secret-2" not in str(logged)


def test_command_line_and_overrides() -> None:
    redactor = Redactor()
    assert redactor.command(["stack.online_store.url=redis://:pw@h", "db.api_key=abc", "model.num_leaves=7"]) == [
        "stack.online_store.url=redis://:***@h", "db.api_key=***", "model.num_leaves=7"
    ]  # fmt: skip
    typed = "hydraops train 'stack.online_store.url=redis://:pw@h' +x.token=t0k"
    assert command_line(typed) == "hydraops train 'stack.online_store.url=redis://:***@h' '+x.token=***'"
    assert command_line(["/usr/bin/hydraops", "train", "db.password=x"]) == "hydraops train 'db.password=***'"
    with pytest.MonkeyPatch.context() as patch:  # the edge reads the command a launcher's worker inherits
        from hydraops.cli.context import typed_command

        patch.setenv("HYDRAOPS_COMMAND", typed)
        assert typed_command() == typed


def test_the_config_digest_does_not_depend_on_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """stack=shared reads its URLs from the environment: two passwords, one digest; another config, another."""
    digests = []
    for password in ("first-password", "second-password"):
        monkeypatch.setenv("HYDRAOPS_REDIS_URL", f"redis://:{password}@127.0.0.1:6379/0")
        cfg = compose_project(PROJECTS / "churn", ["stack=shared"])
        digests.append(config_digest(redacted_config(cfg)[0]))
        assert password not in str(Redactor.of(cfg).config(cfg))
    assert digests[0] == digests[1]
    assert config_digest(redacted_config(compose_project(PROJECTS / "churn", ["stack=shared", "seed=1"]))[0]) != digests[0]
