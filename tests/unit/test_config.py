"""Durations, cross-reference checks and origins, on typed specs and plain data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hydraops import ConfigError, load_spec
from hydraops._resources import packaged_dir
from hydraops.config.checks import cross_reference_findings
from hydraops.config.durations import parse_duration
from hydraops.config.names import MODELS, is_allowed_target
from hydraops.config.origins import Layer
from hydraops.config.schemas import FeatureSpec
from hydraops.features.online import ONLINE_STORES, MemoryOnlineStoreSpec, RedisOnlineStoreSpec, SqliteOnlineStoreSpec
from tests.conftest import PROJECTS

CHURN = PROJECTS / "churn"


@given(st.integers(min_value=0, max_value=10_000), st.sampled_from("smhdw"))
def test_duration_round_trip(amount: int, unit: str) -> None:
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit]
    assert parse_duration(f"{amount}{unit}") == timedelta(seconds=amount * seconds)


@pytest.mark.parametrize("text", ["", "7", "d7", "7 days", "1.5d", "-3d", "7D"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_target_allow_list() -> None:
    assert is_allowed_target("sklearn.ensemble.RandomForestClassifier")
    assert is_allowed_target("lightgbm.LGBMClassifier")
    for target in ("os.system", "builtins.eval", "subprocess.run", "sklearnx.evil", "hydraopsx.y"):
        assert not is_allowed_target(target)


def test_model_registry_names_import_paths() -> None:
    for name, entry in MODELS.items():
        for task, path in entry.estimators.items():
            module, _, attribute = path.partition(":")
            assert module and attribute, (name, task, path)


def test_churn_spec_has_no_findings() -> None:
    assert cross_reference_findings(load_spec(CHURN)) == []


def test_findings_on_a_modified_spec() -> None:
    spec = load_spec(CHURN)
    spec.registry.on_pass = "prod"
    spec.features.views["customer_profile"].ttl = "forever"
    spec.split.valid_fraction, spec.split.test_fraction = 0.5, 0.5
    spec.data.sources["tickets"].path = None
    keys = [key for key, _ in cross_reference_findings(spec)]
    assert keys == ["data.sources.tickets", "features.views.customer_profile.ttl", "split", "registry.on_pass"]


def test_duplicate_feature_names_are_found() -> None:
    spec = load_spec(CHURN)
    spec.features.views["customer_profile"].features["amount_sum_30d"] = FeatureSpec(expr="1")
    spec.features.labels.features = ["age"]
    messages = [message for key, message in cross_reference_findings(spec) if key == "features.views"]
    assert any("feature 'amount_sum_30d' is declared by view 'customer_profile' and view 'transaction_activity'" in m for m in messages)
    assert any("feature 'age' is declared by view 'customer_profile' and features.labels.features" in m for m in messages)


def test_slices_name_the_models_input_features() -> None:
    spec = load_spec(CHURN)
    spec.model.features = ["age", "plan"]
    spec.evaluate.slices = ["plan", "region", "label_time", "nowhere"]
    findings = dict(cross_reference_findings(spec))
    assert findings["evaluate.slices[1]"].startswith("feature 'region' is not in model.features; slices name the model's input features: age, plan")
    assert findings["evaluate.slices[2]"].startswith("'label_time' is a column of the labels source 'labels'")
    assert findings["evaluate.slices[3]"].startswith("unknown column 'nowhere'")
    assert "evaluate.slices[0]" not in findings


def test_load_spec_raises_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        load_spec(CHURN, ["deploy.alias=prod"])
    (problem,) = caught.value.problems
    assert problem.key == "deploy.alias" and "prod" in problem.message


@given(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=4), st.integers(0, 3))
def test_layer_sets_exactly_its_keys(path: list[str], index: int) -> None:
    content: dict = {"leaf": 1, "items": [{"x": 1}]}
    for part in reversed(path):
        content = {part: content}
    layer = Layer("file.yaml", "", content)
    key = ".".join(path)
    assert layer.sets(key) and layer.sets(f"{key}.leaf")
    assert layer.sets(f"{key}.items[0].x") and not layer.sets(f"{key}.items[{index + 1}]")
    assert not layer.sets(f"{key}.missing") and not layer.sets("zzz")
    packaged = Layer("group.yaml", "model", {"num_leaves": 3})
    assert packaged.sets("model.num_leaves") and not packaged.sets("modelx.num_leaves")
    assert Layer("override", "model.features", None).sets("model.features[2]")


@pytest.mark.parametrize(
    ("overrides", "schema"),
    [
        ([], SqliteOnlineStoreSpec),
        (["stack=shared"], RedisOnlineStoreSpec),
        (["stack/online_store=memory"], MemoryOnlineStoreSpec),
        (["stack=shared", "stack/online_store=sqlite"], SqliteOnlineStoreSpec),
    ],
)
def test_each_online_store_option_brings_the_schema_beside_its_backend(overrides: list[str], schema: type) -> None:
    store = load_spec(CHURN, overrides).stack.online_store
    assert type(store) is schema is ONLINE_STORES[store.type]
    assert schema.__module__.startswith("hydraops.features.online.")


@pytest.mark.parametrize(
    ("overrides", "key", "expected"),
    [
        (["stack.online_store.path=???"], "stack.online_store.path", "expected the path of the SQLite file"),
        (["stack=shared", "stack.online_store.url=???"], "stack.online_store.url", "expected the Redis server's URL"),
        (["stack.online_store.type=redis"], "stack.online_store.type", "needs the schema RedisOnlineStoreSpec"),
    ],
)
def test_an_online_store_without_what_its_backend_needs_is_a_config_error(overrides: list[str], key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_spec(CHURN, overrides)
    (problem,) = caught.value.problems
    assert problem.key == key and expected in problem.message


def test_every_online_store_type_has_an_option() -> None:
    options = packaged_dir("conf") / "stack" / "online_store"
    assert {path.stem for path in options.glob("*.yaml")} == {kind.value for kind in ONLINE_STORES}


def test_an_interrupt_inside_omegaconf_is_not_a_config_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM (a KeyboardInterrupt) landing inside OmegaConf's conversion, which its clean-up turns into another
    error, stops the verb as an interrupt (exit 143), not as an invalid config (exit 2)."""
    from omegaconf.errors import ValidationError

    from hydraops.config import validate
    from hydraops.config.compose import compose_project
    from hydraops.config.origins import Origins

    def interrupted(cfg):
        try:
            raise KeyboardInterrupt("terminated (SIGTERM)")
        except KeyboardInterrupt:
            raise ValidationError("'NoneType' object has no attribute '_invalidate_flags_cache'")  # noqa: B904

    cfg = compose_project(PROJECTS / "churn")
    monkeypatch.setattr(validate, "to_spec", interrupted)
    with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
        validate.validate_config(cfg, Origins("config", [], []))
