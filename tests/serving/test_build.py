"""The bundle: the serving stage plans a build (create) or a skip, writes a checked build context (serving.json,
the registered model's files, a bentofile with pinned packages and labels) and ``bentoml build`` puts it in the
project's bento store. Real MLflow (SQLite) and the real ``bentoml`` CLI; the bento is built around a stand-in
service kept in the test's build context, except in the slow end-to-end test, which needs the real service."""

from __future__ import annotations

import importlib.util
import json
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import replace
from importlib.metadata import version as installed
from pathlib import Path

import pytest

from hydraops.errors import ModelIntegrityError, RegistryError
from hydraops.plan.model import Effect
from hydraops.serving import bundle
from hydraops.serving.spec import FILE, ServingSpec
from hydraops.serving.stage import BuildBundle, plan, write_context
from hydraops.tracking import tags as T
from tests.conftest import Run, copy_project
from tests.registry.support import Store, register

STAND_IN = """import bentoml


@bentoml.service
class Service:
    @bentoml.api
    def predict(self, rows: list) -> list:
        return rows
"""
INPUTS = {"features": ["age", "spend"], "categories": {}}
COMMIT = "0123456789abcdef0123456789abcdef01234567"

pytestmark = pytest.mark.in_process


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory):
    """The churn project (no data needed) with one tiny LightGBM version registered in its own store as champion,
    its run carrying model_inputs.json and a git commit; returns (project dir, spec, context)."""
    from hydraops import load_spec
    from hydraops.plan.context import RunContext

    directory = copy_project("churn", tmp_path_factory.mktemp("build") / "churn")
    spec = load_spec(directory)
    store = Store(spec.stack.tracking_uri, Path(spec.stack.artifact_location))
    version = register(store, {"test.roc_auc": 0.8}, tags={T.SOURCE_GIT_COMMIT: COMMIT})
    client = store.client()
    run_id = client.get_model_version("churn", version).run_id
    client.log_dict(run_id, INPUTS, "model_inputs.json")
    client.set_registered_model_alias("churn", "champion", version)
    return directory, spec, RunContext.create(spec)


def stand_in_build(action: BuildBundle, ctx) -> Path:
    """The action's build context with a stand-in service module in it, ready for ``bundle.build_bento``."""
    directory = write_context(action, ctx, service="stand_in:Service", extra_include=["stand_in.py"])
    (directory / "stand_in.py").write_text(STAND_IN)
    return directory


def planned(spec, ctx, **options) -> BuildBundle:
    (action,) = plan(spec, ctx, required=True, **options)
    return action


def test_build_context_holds_the_checked_model_its_spec_and_a_pinned_bentofile(project) -> None:
    import yaml

    from hydraops.tracking.models import files_sha256

    _, spec, ctx = project
    action = planned(spec, ctx)
    assert action.effect is Effect.create and action.version == "1" and action.alias == "champion"
    assert action.tag == f"churn:1-{ctx.config_digest[:12]}"
    directory = write_context(action, ctx)
    assert directory.is_relative_to(Path(spec.paths.artifacts_dir).resolve()), "build contexts stay under the project's paths"

    serving = ServingSpec.from_json((directory / FILE).read_text())
    assert serving.model.sha256 == files_sha256(directory / "model"), "the copied model is the registered one"
    assert (serving.model.version, serving.model.alias, serving.model.git_commit) == ("1", "champion", COMMIT)
    assert serving.model.config_digest == ctx.config_digest and serving.feature_names == INPUTS["features"]
    assert serving.views and all(view.key_types == {"customer_id": "integer"} for view in serving.views), "key types as the sources declare them"
    assert not [p for p in directory.rglob("*") if p.suffix in bundle.PICKLE_SUFFIXES]

    bentofile = yaml.safe_load((directory / bundle.BENTOFILE).read_text())
    assert bentofile["service"] == bundle.SERVICE and bentofile["name"] == "churn"
    assert bentofile["include"] == [FILE, "model/**"]
    assert bentofile["labels"] == {"model-name": "churn", "model-version": "1", "run-id": serving.model.run_id, "alias": "champion",
                                   "config-digest": ctx.config_digest, "git-commit": COMMIT, "flavor": "lightgbm"}  # fmt: skip
    pins = bentofile["python"]["packages"]
    for package in ("lightgbm", "scikit-learn", "skops", "pandas", "pyarrow", "bentoml", "mlflow", "duckdb"):
        assert f"{package}=={installed(package)}" in pins, package
    assert f"redis[hiredis]=={installed('redis')}" in pins and all("==" in pin for pin in pins)
    assert not any(pin.startswith(("pytest", "ruff", "hypothesis")) for pin in pins), "dev extras stay out"
    assert bentofile["python"]["lock_packages"] is False


def test_bentoml_build_then_the_plan_skips_and_the_bento_has_no_pickle(project) -> None:
    _, spec, ctx = project
    action = planned(spec, ctx)
    assert action.effect is Effect.create
    tag = bundle.build_bento(stand_in_build(action, ctx), spec.stack.bento_home)
    assert tag == action.tag and bundle.is_built(spec.stack.bento_home, tag)
    assert Path(spec.stack.bento_home).resolve().is_relative_to(Path(spec.paths.root).resolve()), "the store is the project's, not ~/bentoml"

    again = planned(spec, ctx)
    assert again.effect is Effect.skip and again.tag == tag, "the same version under the same config is built once"
    other = replace(ctx, config_digest="f" * 64)
    assert planned(spec, other).effect is Effect.create, "another config is another bento"

    home = bundle.bento_dir(spec.stack.bento_home, tag)
    info = bundle.bento_info(spec.stack.bento_home, tag)
    assert info["labels"]["model-version"] == "1" and info["labels"]["git-commit"] == COMMIT
    assert info["labels"]["config-digest"] == ctx.config_digest
    assert sorted(p.name for p in (home / "src").iterdir()) == ["bentofile.yaml", "model", "serving.json", "stand_in.py"]
    pickles = [p for p in home.rglob("*") if p.is_file() and p.suffix in bundle.PICKLE_SUFFIXES]
    assert pickles == []
    bundle.refuse_pickle(home)  # nor a file whose content is a pickle

    dockerfile = bundle.dockerfile(spec.stack.bento_home, tag)
    requirements = (home / "env" / "python" / "requirements.txt").read_text().split()
    assert "env/python/install.sh" in dockerfile.read_text(), "the image runs the bento's install script"
    install = (home / "env" / "python" / "install.sh").read_text()
    assert '"$BASEDIR/requirements.txt"' in install and '"$BASEDIR/wheels"' in install, "which installs the pins and the wheels"
    for package in ("lightgbm", "scikit-learn", "skops", "pandas", "pyarrow", "bentoml"):
        assert f"{package}=={installed(package)}" in requirements, package
    wheels = list((home / "env" / "python" / "wheels").glob("hydraops-*.whl"))
    assert len(wheels) == 1, "hydraops itself ships as a wheel built from this checkout"


def test_a_tampered_model_file_in_the_build_context_is_refused(project) -> None:
    _, spec, ctx = project
    directory = stand_in_build(planned(spec, ctx, alias="champion"), ctx)
    model_file = directory / "model" / "model.lgb"
    model_file.write_text(model_file.read_text().replace("tree", "tree ", 1))
    tag = f"churn:tampered-{ctx.config_digest[:6]}"
    with pytest.raises(ModelIntegrityError, match="does not match its recorded sha256"):
        bundle.build_bento(directory, spec.stack.bento_home, version=tag.partition(":")[2])
    assert not bundle.is_built(spec.stack.bento_home, tag)


def test_a_pickle_in_the_build_context_is_refused(project) -> None:
    import pickle

    _, spec, ctx = project
    directory = stand_in_build(planned(spec, ctx), ctx)
    (directory / "notes.bin").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ModelIntegrityError, match="notes.bin is a pickle"):
        bundle.build_bento(directory, spec.stack.bento_home, version="pickled")
    assert not bundle.is_built(spec.stack.bento_home, "churn:pickled")


def test_a_missing_alias_names_the_registry_and_the_alias(project) -> None:
    _, spec, ctx = project
    with pytest.raises(RegistryError, match=r"no alias 'challenger' \(deploy.alias; aliases: champion → v1\)") as raised:
        planned(spec, ctx, alias="challenger")
    assert spec.stack.tracking_uri in str(raised.value) and raised.value.exit_code == 2
    # plan and apply: a skip saying why, nothing to build
    (action,) = plan(replace(spec, deploy=replace(spec.deploy, alias="challenger")), ctx)
    assert action.effect is Effect.skip and "no alias 'challenger'" in action.details[0]


def test_after_an_alias_move_in_the_same_plan_the_version_is_resolved_at_apply(project) -> None:
    from hydraops.registry.stage import Promote

    _, spec, ctx = project
    moving = Promote(effect=Effect.update, model="churn", target="champion", version=None, why="latest version after training")
    (action,) = plan(spec, ctx, earlier=(moving,))
    assert (action.effect, action.version, action.tag) == (Effect.create, None, None)
    assert "after the registry stage" in action.inputs[0]
    rejected = replace(moving, version="1", passes=False)  # a planned rejection moves nothing: today's alias counts
    other_alias = replace(moving, target="challenger")
    for earlier in (rejected, other_alias):
        (action,) = plan(spec, ctx, earlier=(earlier,))
        assert action.version == "1" and action.tag is not None

    from hydraops.plan import apply, build_plan
    from hydraops.plan.model import Outcome

    # at apply the alias may point to nothing (a promotion to another alias): apply skips the build, saying so
    unset = BuildBundle(effect=Effect.create, model="churn", alias="previous", version=None, run_id=None, config_digest=ctx.config_digest, tag=None)
    (result,) = apply(replace(build_plan(spec, ctx, ["serving"]), actions=(unset,)), ctx)
    assert result.outcome is Outcome.skipped and "has no alias 'previous'" in result.summary


def register_sklearn(client, name: str, estimator, option: str | None) -> str:
    """``estimator`` fitted on two columns, logged as train logs it (its run tagged with the model option
    ``option``, none when None), registered as ``name`` with the champion alias on it."""
    import numpy as np
    import pandas as pd
    from mlflow.models import infer_signature

    from hydraops.tracking.models import log_model, register_model

    x = pd.DataFrame({"age": np.arange(40, dtype=float), "spend": np.linspace(0, 1, 40)})
    estimator.fit(x, (x["spend"] > 0.5).astype(int))
    run_id = client.create_run(client.get_experiment_by_name("churn").experiment_id, tags={T.MODEL: option} if option else {}).info.run_id
    logged = log_model(client, run_id, estimator, input_example=x.head(3), signature=infer_signature(x.head(3)), pip_requirements=["scikit-learn"])
    client.log_dict(run_id, INPUTS, "model_inputs.json")
    version = register_model(client, name, logged, run_id, {T.MODEL_SHA256: logged.sha256, T.FLAVOR: logged.flavor})
    client.set_registered_model_alias(name, "champion", version)
    return version


def test_a_model_hydraops_cannot_explain_is_refused_by_build_and_skipped_by_apply(project) -> None:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.naive_bayes import GaussianNB

    from hydraops.errors import ServingError
    from hydraops.plan import apply, build_plan
    from hydraops.plan.model import Outcome

    _, spec, ctx = project
    ctx = replace(ctx, config_digest="e" * 64)  # another registry.name is another config
    client = ctx.tracking.client
    register_sklearn(client, "churn_forest", RandomForestClassifier(n_estimators=3, random_state=0), "random_forest")
    forest = replace(spec, registry=replace(spec.registry, name="churn_forest"))

    with pytest.raises(ServingError, match="is a random_forest model, which hydraops does not explain") as raised:
        plan(forest, ctx, required=True)
    assert raised.value.key == "deploy.service.explain"
    (skipped,) = plan(forest, ctx)
    assert skipped.effect is Effect.skip and "deploy.service.explain=false" in skipped.details[0]
    # after an alias move in the same plan the version is only known at apply: a skip there, saying why
    moving = BuildBundle(effect=Effect.create, model="churn_forest", alias="champion", version=None, run_id=None,
                         config_digest=ctx.config_digest, tag=None)  # fmt: skip
    (result,) = apply(replace(build_plan(forest, ctx, ["serving"]), actions=(moving,)), replace(ctx, spec=forest))
    assert result.outcome is Outcome.skipped and "does not explain" in result.summary

    # a model of no known option (`model=sklearn`, or trained before the tag) is judged once loaded
    register_sklearn(client, "churn_bayes", GaussianNB(), None)
    bayes = replace(spec, registry=replace(spec.registry, name="churn_bayes"))
    (action,) = plan(bayes, ctx, required=True)
    with pytest.raises(ServingError, match="is a GaussianNB model, which hydraops does not explain") as raised:
        write_context(action, ctx)
    assert raised.value.key == "deploy.service.explain"
    off = replace(bayes, deploy=replace(bayes.deploy, service=replace(bayes.deploy.service, explain=False)))
    assert ServingSpec.from_json((write_context(action, replace(ctx, spec=off)) / FILE).read_text()).model.flavor == "sklearn"


def test_a_linear_model_is_bundled_with_explanations(project) -> None:
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from hydraops.serving.predictor import Predictor

    _, spec, ctx = project
    ctx = replace(ctx, config_digest="d" * 64)
    register_sklearn(ctx.tracking.client, "churn_linear", LogisticRegression(), "logistic_regression")
    linear = replace(spec, registry=replace(spec.registry, name="churn_linear"))
    (action,) = plan(linear, ctx, required=True)
    assert action.effect is Effect.create
    directory = write_context(action, ctx)
    predictor = Predictor(ServingSpec.from_json((directory / FILE).read_text()), directory / "model")
    assert predictor.explainable
    explained = predictor.explain(pd.DataFrame({"age": [3.0, 30.0], "spend": [0.2, 0.9]}))
    assert abs(explained.base + explained.contributions.sum(axis=1) - explained.raw).max() <= 1e-9


def test_a_batch_target_plans_no_bundle(project) -> None:
    from hydraops.config.schemas.lifecycle import DeployTarget

    _, spec, ctx = project
    assert plan(replace(spec, deploy=replace(spec.deploy, target=DeployTarget.batch)), ctx) == []


def test_build_verb_missing_alias_exits_2_and_writes_nothing(project, hydraops: Run) -> None:
    directory, spec, _ = project
    before = sorted(p.name for p in Path(spec.stack.bento_home).glob("bentos/*/*")) if Path(spec.stack.bento_home).exists() else []
    done = hydraops("build", "alias=previous", cwd=directory)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "no alias 'previous'" in done.stderr and "mlflow.db" in done.stderr
    after = sorted(p.name for p in Path(spec.stack.bento_home).glob("bentos/*/*")) if Path(spec.stack.bento_home).exists() else []
    assert after == before


def cli_bento(project, hydraops: Run) -> str:
    """The bento `hydraops serve` and `containerize` look for (the tag under the CLI's config digest), built
    around the stand-in service."""
    directory, spec, ctx = project
    shown = hydraops("build", "dry_run=true", "--json", cwd=directory)
    assert shown.returncode == 0, shown.stderr
    (data,) = [a["data"] for a in json.loads(shown.stdout)["actions"]]
    action = planned(spec, replace(ctx, config_digest=data["config_digest"]))
    if action.effect is Effect.create:
        bundle.build_bento(stand_in_build(action, ctx), spec.stack.bento_home, version=data["tag"].partition(":")[2])
    assert bundle.is_built(spec.stack.bento_home, data["tag"])
    return data["tag"]


def test_containerize_without_a_container_engine_exits_2_naming_the_dockerfile(project, hydraops: Run, tmp_path: Path) -> None:
    directory, spec, _ = project
    tag = cli_bento(project, hydraops)
    empty = tmp_path / "bin"
    empty.mkdir()
    done = hydraops("containerize", cwd=directory, env={"PATH": str(empty)})
    assert done.returncode == 2, done.stdout + done.stderr
    dockerfile = bundle.dockerfile(spec.stack.bento_home, tag)
    assert "no container engine is available" in done.stderr and str(dockerfile) in " ".join(done.stderr.split())
    assert dockerfile.is_file()


@pytest.mark.parametrize("stop", [signal.SIGTERM, pytest.param(signal.SIGINT, marks=pytest.mark.slow)])
def test_serve_runs_the_bento_and_stops_cleanly_on_a_signal(project, hydraops: Run, stop: signal.Signals) -> None:
    from tests.conftest import HYDRAOPS

    directory, _, _ = project
    tag = cli_bento(project, hydraops)
    port = free_port()
    server = subprocess.Popen([HYDRAOPS, "serve", f"port={port}"], cwd=directory, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              preexec_fn=_as_in_a_terminal)  # fmt: skip
    try:
        assert wait_live(port, server), "the bento's service answers /livez"
        answer = urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/predict", json.dumps({"rows": [1, 2]}).encode(),
                                                               {"Content-Type": "application/json"}), timeout=10)  # fmt: skip
        assert json.loads(answer.read()) == [1, 2]
        server.send_signal(stop)
        out, err = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert server.returncode == (143 if stop is signal.SIGTERM else 130), out + err
    assert f"serving {tag} on http://127.0.0.1:{port}" in out
    with pytest.raises(OSError):  # the service is gone with it
        urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=2)


def _as_in_a_terminal() -> None:
    """SIGINT handled by default, as in a command typed at a terminal: a test run started in the background
    (`make test &`) has it ignored, and a child keeps an ignored signal ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_live(port: int, server: subprocess.Popen, timeout: float = 90) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.poll() is None:
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=2).status == 200
        except OSError:
            time.sleep(0.5)
    return False


def test_serve_without_a_built_bento_says_to_build(project, hydraops: Run) -> None:
    directory, _, _ = project
    done = hydraops("serve", "seed=3", cwd=directory)  # another config: no bento built for it
    assert done.returncode == 2, done.stdout + done.stderr
    assert "run `hydraops build` first" in done.stderr


REAL_SERVICE = importlib.util.find_spec("hydraops.serving.service") is not None


@pytest.mark.slow
@pytest.mark.skipif(not REAL_SERVICE, reason="needs hydraops.serving.service (the generic service)")
def test_build_verb_on_a_trained_project_then_skips(tmp_path: Path, hydraops: Run) -> None:
    """`hydraops build` on a trained churn project, with the real service: a bento, then a plan skip."""
    from tests.conftest import generated_churn

    directory = generated_churn(tmp_path / "churn", customers=300)
    for verb in (("train", "debug=fast"), ("promote", "debug=fast")):
        done = hydraops(*verb, cwd=directory)
        assert done.returncode == 0, done.stdout + done.stderr
    built = hydraops("build", "debug=fast", "--json", cwd=directory)
    assert built.returncode == 0, built.stdout + built.stderr
    (result,) = json.loads(built.stdout)["results"]
    assert result["outcome"] == "done"
    tag = result["action"]["data"]["tag"]
    home = directory / "artifacts" / "bentoml"
    assert bundle.is_built(home, tag) and bundle.bento_info(home, tag)["labels"]["model-name"] == "churn"
    bundle.refuse_pickle(bundle.bento_dir(home, tag))
    again = hydraops("build", "debug=fast", cwd=directory)
    assert again.returncode == 0 and "up to date" in again.stdout, again.stdout + again.stderr


def test_a_shadow_alias_is_bundled_beside_the_served_version_and_counts_in_the_skip(project) -> None:
    """deploy.shadow: its version in shadow/ (checked like model/), named in serving.json, the tag and the labels;
    no alias to shadow is an error naming deploy.shadow (build) or a skip (apply); a moved shadow is a new bento."""
    import yaml

    from hydraops.errors import ServingError

    _, spec, ctx = project
    ctx = replace(ctx, config_digest="d" * 64)  # another registry.name and deploy.shadow: another config
    store = Store(spec.stack.tracking_uri, Path(spec.stack.artifact_location))
    client = store.client()
    versions = [register(store, {"test.roc_auc": 0.8}, model="churn_shadowed") for _ in range(3)]
    for version, inputs in zip(versions, [INPUTS, INPUTS, {"features": ["age", "spend", "tenure"], "categories": {}}]):
        client.log_dict(client.get_model_version("churn_shadowed", version).run_id, inputs, "model_inputs.json")
    client.set_registered_model_alias("churn_shadowed", "champion", versions[0])
    shadowed = replace(spec, registry=replace(spec.registry, name="churn_shadowed"), deploy=replace(spec.deploy, shadow="challenger"))

    with pytest.raises(RegistryError, match=r"no alias 'challenger' to shadow \(deploy.shadow; aliases: champion → v1\)") as raised:
        plan(shadowed, ctx, required=True)
    assert raised.value.key == "deploy.shadow"
    (skipped,) = plan(shadowed, ctx)
    assert skipped.effect is Effect.skip and "deploy.shadow" in skipped.details[0]

    client.set_registered_model_alias("churn_shadowed", "challenger", versions[1])
    action = planned(shadowed, ctx)
    assert (action.version, action.shadow, action.shadow_version) == ("1", "challenger", "2")
    assert action.tag == f"churn:1-s2-{ctx.config_digest[:12]}" and "shadow churn_shadowed v2 (@challenger)" in action.inputs
    directory = stand_in_build(action, replace(ctx, spec=shadowed))
    serving = ServingSpec.from_json((directory / FILE).read_text())
    assert (serving.shadow.model.version, serving.shadow.model.alias, serving.shadow.features) == ("2", "challenger", INPUTS["features"])
    from hydraops.tracking.models import files_sha256

    assert serving.shadow.model.sha256 == files_sha256(directory / "shadow")
    bentofile = yaml.safe_load((directory / bundle.BENTOFILE).read_text())
    assert "shadow/**" in bentofile["include"] and bentofile["labels"]["shadow-model-version"] == "2"
    assert serving.prediction_log == {"type": "parquet", "path": str(Path(spec.paths.artifacts_dir).resolve() / "prediction_log"),
                                      "url": None, "table": "prediction_log"}  # fmt: skip

    shadow_file = directory / "shadow" / "model.lgb"
    shadow_file.write_text(shadow_file.read_text().replace("tree", "tree ", 1))
    with pytest.raises(ModelIntegrityError, match="churn_shadowed/2 does not match its recorded sha256"):
        bundle.build_bento(directory, spec.stack.bento_home, version="shadow-tampered")

    client.set_registered_model_alias("churn_shadowed", "challenger", versions[2])
    moved = planned(shadowed, ctx)
    assert moved.tag == f"churn:1-s3-{ctx.config_digest[:12]}" and moved.effect is Effect.create, "another shadow version, another bento"
    with pytest.raises(ServingError, match=r"takes input\(s\) tenure that v1 \(@champion\) is not served") as refused:
        write_context(moved, replace(ctx, spec=shadowed))
    assert refused.value.key == "deploy.shadow"
