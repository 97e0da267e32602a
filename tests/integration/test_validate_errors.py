"""Golden errors of `hydraops validate`: each names the key and the file, exits 2 and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Run, snapshot

pytestmark = pytest.mark.in_process


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def add_model_option(churn: Path, name: str, text: str) -> None:
    (churn / "conf" / "model").mkdir(exist_ok=True)
    (churn / "conf" / "model" / f"{name}.yaml").write_text(text)


def expect_problem(hydraops: Run, churn: Path, *args: str, key: str, source: str, says: list[str]) -> str:
    before = snapshot(churn)
    result = hydraops("validate", *args, cwd=churn)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line.strip() for line in result.stderr.splitlines() if line.startswith("  ")]
    matching = [line for line in lines if line.startswith(f"{key} ({source}): ")]
    assert matching, f"no problem line for {key} ({source}) in:\n{result.stderr}"
    for text in says:
        assert text in matching[0], f"{text!r} not in {matching[0]!r}"
    assert snapshot(churn) == before, "validate must write nothing"
    return matching[0]


def test_unknown_group_option_on_the_command_line(hydraops: Run, churn: Path) -> None:
    expect_problem(
        hydraops, churn, "model=xgboost",
        key="model", source="command-line override 'model=xgboost'",
        says=["unknown option 'xgboost' for group 'model'", "lightgbm", "logistic_regression", "random_forest"],
    )  # fmt: skip


def test_unknown_group_option_in_a_file(hydraops: Run, churn: Path) -> None:
    edit(churn / "conf" / "config.yaml", "override features: churn", "override features: churnn")
    expect_problem(
        hydraops, churn,
        key="features", source="conf/config.yaml",
        says=["unknown option 'churnn' for group 'features'", "available: churn, none"],
    )  # fmt: skip


def test_unknown_key_in_a_file(hydraops: Run, churn: Path) -> None:
    add_model_option(churn, "tuned", "defaults:\n  - lightgbm\n  - _self_\nnum_leafs: 15\n")
    expect_problem(
        hydraops, churn, "model=tuned",
        key="model.num_leafs", source="conf/model/tuned.yaml",
        says=["Key 'num_leafs' not in 'LightGBMSpec'", "num_leaves"],
    )  # fmt: skip


def test_unknown_key_on_the_command_line(hydraops: Run, churn: Path) -> None:
    expect_problem(
        hydraops, churn, "split.valid_frac=0.2",
        key="split.valid_frac", source="command-line override 'split.valid_frac'",
        says=["Key 'valid_frac' not in 'SplitSpec'", "valid_fraction"],
    )  # fmt: skip


def test_wrong_type_in_a_file(hydraops: Run, churn: Path) -> None:
    edit(churn / "conf" / "config.yaml", "evaluate:\n  slices:", "seed: forty-two\n\nevaluate:\n  slices:")
    expect_problem(
        hydraops, churn,
        key="seed", source="conf/config.yaml",
        says=["Value 'forty-two' of type 'str' could not be converted to Integer"],
    )  # fmt: skip


def test_wrong_enum_value_lists_the_choices(hydraops: Run, churn: Path) -> None:
    expect_problem(
        hydraops, churn, "split.method=chronological",
        key="split.method", source="command-line override 'split.method=chronological'",
        says=["chronological", "time", "random"],
    )  # fmt: skip


def test_missing_value(hydraops: Run, churn: Path) -> None:
    (churn / "conf" / "deploy").mkdir()
    (churn / "conf" / "deploy" / "nightly.yaml").write_text("target: batch\nservice: {name: churn}\nbatch: {chunk_rows: 5000}\n")
    expect_problem(
        hydraops, churn, "deploy=nightly",
        key="deploy.batch.output", source="conf/deploy/nightly.yaml",
        says=["missing value '???'"],
    )  # fmt: skip


def test_every_missing_value_is_listed(hydraops: Run, churn: Path) -> None:
    result = hydraops("validate", "project=???", "seed=???", cwd=churn)
    assert result.returncode == 2
    assert result.stderr.count("missing value") == 2, result.stderr
    assert "registry.name" not in result.stderr, "values interpolating a missing key are not reported again"


def test_slice_on_a_labels_column_is_caught_before_train(hydraops: Run, churn: Path) -> None:
    # train slices by the model's input features only: a labels column would fail after the MLflow run exists
    edit(churn / "conf" / "config.yaml", "slices: [plan, region]", "slices: [plan, churned]")
    expect_problem(
        hydraops, churn,
        key="evaluate.slices[1]", source="conf/config.yaml",
        says=["'churned' is a column of the labels source 'labels'", "slices name the model's input features:", "region"],
    )  # fmt: skip


def test_broken_interpolation(hydraops: Run, churn: Path) -> None:
    edit(churn / "conf" / "config.yaml", "evaluate:\n  slices:", "evaluate:\n  primary_metric: ${evaluate.main_metric}\n  slices:")
    expect_problem(
        hydraops, churn,
        key="evaluate.primary_metric", source="conf/config.yaml",
        says=["cannot resolve '${evaluate.main_metric}'", "main_metric"],
    )  # fmt: skip


def test_forbidden_target_in_a_file(hydraops: Run, churn: Path) -> None:
    add_model_option(churn, "custom", "defaults:\n  - sklearn\n  - _self_\nestimator:\n  _target_: os.system\n  command: rm -rf /\n")
    expect_problem(
        hydraops, churn, "model=custom",
        key="model.estimator._target_", source="conf/model/custom.yaml",
        says=["_target_ 'os.system' is not allowed", "an estimator class of sklearn or lightgbm"],
    )  # fmt: skip


def test_forbidden_target_on_the_command_line(hydraops: Run, churn: Path) -> None:
    expect_problem(
        hydraops, churn, "model=sklearn", "model.estimator._target_=builtins.eval",
        key="model.estimator._target_", source="command-line override 'model.estimator._target_=builtins.eval'",
        says=["not allowed"],
    )  # fmt: skip


@pytest.mark.parametrize(
    ("old", "new", "key", "says"),
    [
        ("source: transactions", "source: transactionz", "features.views.transaction_activity.source",
         ["unknown source 'transactionz'", "customers, labels, tickets, transactions"]),
        ("entity: customer\n    source: tickets", "entity: account\n    source: tickets",
         "features.views.support_activity.entity", ["unknown entity 'account'", "customer"]),
        ("{column: amount,", "{column: amount_usd,", "features.views.transaction_activity.aggregations[0].column",
         ["unknown column 'amount_usd'", "amount"]),
        ("windows: [30d, 90d]", "windows: [30days, 90d]", "features.views.support_activity.aggregations[0].windows[0]",
         ["'30days' is not a duration"]),
    ],
)  # fmt: skip
def test_dangling_reference_in_features(hydraops: Run, churn: Path, old: str, new: str, key: str, says: list[str]) -> None:
    edit(churn / "conf" / "features" / "churn.yaml", old, new)
    expect_problem(hydraops, churn, key=key, source="conf/features/churn.yaml", says=says)


def test_dangling_alias_and_split_column(hydraops: Run, churn: Path) -> None:
    expect_problem(
        hydraops, churn, "deploy.alias=production",
        key="deploy.alias", source="command-line override 'deploy.alias=production'",
        says=["unknown alias 'production'", "champion"],
    )  # fmt: skip
    expect_problem(
        hydraops, churn, "split.column=signup_date",
        key="split.column", source="command-line override 'split.column=signup_date'",
        says=["unknown column 'signup_date'", "label_time"],
    )  # fmt: skip


def test_a_model_feature_must_exist(hydraops: Run, churn: Path) -> None:
    expect_problem(
        hydraops, churn, "model.features=[age,tenure]",
        key="model.features[1]", source="command-line override 'model.features=[age,tenure]'",
        says=["unknown feature 'tenure'", "amount_sum_30d"],
    )  # fmt: skip


def test_several_problems_are_reported_together(hydraops: Run, churn: Path) -> None:
    result = hydraops("validate", "deploy.alias=prod", "registry.on_pass=king", "evaluate.primary_metric=auc", cwd=churn)
    assert result.returncode == 2
    for key in ("deploy.alias", "registry.on_pass", "evaluate.primary_metric", "monitor.performance.metric"):
        assert f"\n  {key} (" in result.stderr, result.stderr


def test_the_plan_refuses_an_invalid_config_too(hydraops: Run, churn: Path) -> None:
    result = hydraops("plan", "--json", "deploy.alias=prod", cwd=churn)
    assert result.returncode == 2 and result.stdout == ""
    assert "deploy.alias" in result.stderr


def test_an_estimator_target_must_be_a_public_class(hydraops: Run, churn: Path) -> None:
    """The issue's attack: a function under sklearn.* with _args_ passed the prefix allow-list, and train ran it."""
    target = "sklearn.utils._testing.assert_run_python_script_without_output"
    result = hydraops("validate", "model=sklearn", f"model.estimator._target_={target}", "+model.estimator._args_=[x]", cwd=churn)
    assert result.returncode == 2, result.stderr
    assert (
        f"model.estimator._target_ (command-line override 'model.estimator._target_={target}'): _target_ '{target}' is not allowed: private module '_testing'"
        in result.stderr
    )
    assert "model.estimator._args_ (command-line override '+model.estimator._args_=[x]'): _args_ is not allowed" in result.stderr
    function = hydraops("validate", "model=sklearn", "model.estimator._target_=sklearn.utils.check_array", cwd=churn)
    assert function.returncode == 2 and "'check_array' is not a class name" in function.stderr


def test_a_hydra_callback_on_the_command_line_runs_no_code(hydraops: Run, churn: Path) -> None:
    """The issue's attack: validate instantiated hydra.callbacks (running the code) and then printed "valid"."""
    marker = churn / "pwned"
    code = f"open('{marker}','w')"
    override = f'+hydra.callbacks.x={{_target_:sklearn.utils._testing.assert_run_python_script_without_output,source_code:"{code}"}}'
    expect_problem(
        hydraops, churn, override,
        key="hydra.callbacks.x._target_", source=f"command-line override '{override}'",
        says=["'sklearn.utils._testing.assert_run_python_script_without_output' is not allowed here",
              "allowed: hydraops.cli.sweep.MlflowSweepCallback"],
    )  # fmt: skip
    assert not marker.exists()


def test_a_logging_factory_in_a_file_runs_no_code(hydraops: Run, churn: Path) -> None:
    """A job_logging handler with a ``()`` factory (any callable) and a FileHandler outside the output dir."""
    marker, outside = churn / "pwned", churn.parent / "outside.log"
    (churn / "conf" / "experiment" / "logs.yaml").write_text(
        "# @package _global_\nhydra:\n  job_logging:\n    handlers:\n"
        f"      x: {{'()': builtins.open, file: {marker}, mode: w}}\n"
        f"      y: {{class: logging.FileHandler, filename: {outside}}}\n"
    )
    for verb in ("validate", "train"):
        result = hydraops(verb, "experiment=logs", cwd=churn)
        assert result.returncode == 2, result.stderr
        assert "hydra.job_logging.handlers.x.() (conf/experiment/logs.yaml): '()' factories are not allowed in a handler" in result.stderr
        assert f"hydra.job_logging.handlers.y.filename (conf/experiment/logs.yaml): log file '{outside}' is not allowed" in result.stderr
    assert not marker.exists() and not outside.exists()


@pytest.mark.slow
def test_a_sweep_job_with_a_bad_hydra_node_runs_nothing(hydraops: Run, churn: Path) -> None:
    """Each sweep job's config is composed (and checked) again, here with the joblib launcher."""
    marker = churn / "pwned"
    (churn / "conf" / "experiment" / "logs.yaml").write_text(
        f"# @package _global_\nhydra:\n  job_logging:\n    handlers:\n      x: {{'()': builtins.open, file: {marker}, mode: w}}\n"
    )
    result = hydraops("train", "-m", "experiment=baseline,logs", "hydra/launcher=joblib", "debug=fast", cwd=churn)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "hydra.job_logging.handlers.x.() (conf/experiment/logs.yaml): '()' factories are not allowed" in result.stderr
    assert not marker.exists() and "Traceback" not in result.stderr


def test_names_are_identifiers(hydraops: Run, churn: Path) -> None:
    expect_problem(
        hydraops, churn, "registry.name=team/x",
        key="registry.name", source="command-line override 'registry.name=team/x'",
        says=["'team/x' is not a valid name", "letters, digits, '_', '-' and '.'"],
    )  # fmt: skip
    edit(churn / "conf" / "features" / "churn.yaml", "  customer_profile:", "  ../../../escape:")
    expect_problem(
        hydraops, churn,
        key="features.views.../../../escape", source="conf/features/churn.yaml",
        says=["feature view name '../../../escape' is not an identifier", "letters, digits and '_'"],
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        ("project: churn\nowners: [a, b\n", "3:1", "expected ',' or ']', but got '<stream end>' (while parsing a flow sequence started at line 2, column 9)"),
        ("project: churn\nproject: other\n", "2:1", "found duplicate key project"),
        ("project: churn\nowners:\n\t- a\n", "3:1", "found character '\\t' that cannot start any token"),
    ],
    ids=["unclosed-list", "duplicate-key", "tab"],
)  # fmt: skip
def test_yaml_syntax_errors_name_the_file_and_line(hydraops: Run, churn: Path, text: str, where: str, says: str) -> None:
    (churn / "conf" / "project.yaml").write_text(text)
    expect_problem(hydraops, churn, key="<config>", source=f"conf/project.yaml:{where}", says=[f"YAML syntax error: {says}"])


def test_a_sqlite_online_store_without_a_path(hydraops: Run, churn: Path) -> None:
    expect_problem(
        hydraops, churn, "stack.online_store.path=null",
        key="stack.online_store.path", source="command-line override 'stack.online_store.path=null'",
        says=["not Optional", "expected the path of the SQLite file"],
    )  # fmt: skip


def test_a_redis_online_store_without_a_url(hydraops: Run, churn: Path) -> None:
    (churn / "conf" / "stack").mkdir()
    (churn / "conf" / "stack" / "team.yaml").write_text(
        "defaults:\n  - /schema/online_store/redis@online_store\n  - _self_\n"
        "name: team\ntracking_uri: sqlite:///mlflow.db\nbento_home: bentoml\nonline_store:\n  type: redis\n"
    )
    expect_problem(
        hydraops, churn, "stack=team",
        key="stack.online_store.url", source="conf/stack/team.yaml",
        says=["missing value '???'", "expected the Redis server's URL"],
    )  # fmt: skip


def test_an_online_store_type_without_its_schema(hydraops: Run, churn: Path) -> None:
    expect_problem(
        hydraops, churn, "stack.online_store.type=redis",
        key="stack.online_store.type", source="command-line override 'stack.online_store.type=redis'",
        says=["needs the schema RedisOnlineStoreSpec, got SqliteOnlineStoreSpec", "stack/online_store=redis"],
    )  # fmt: skip
