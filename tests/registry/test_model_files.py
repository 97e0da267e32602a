"""A registered model's files are loaded only as they were logged (issue 9, item 1): the sha256 covers every
file the load reads, MLmodel included, and the load follows the recorded flavor, never pickle.

The attack is real: a pickle that creates a marker file when unpickled, hidden where the old digest did not
look (files named MLmodel), and the MLmodel switched to MLflow's pickle loader. On SQLite (in process)."""

from __future__ import annotations

import pickle
import shutil
import uuid
from pathlib import Path

import pytest

from hydraops.config.schemas.lifecycle import GateSpec
from hydraops.errors import ModelIntegrityError
from hydraops.registry.promote import aliases_of, propose_promotion
from hydraops.tracking.model_load import verified_model
from hydraops.tracking.models import FLAVOR_TAG, SHA_TAG, files_sha256, load_model
from tests.registry.support import Payload, Store, plant_pickle, register, registry_spec

pytestmark = pytest.mark.slow
LATENCY = GateSpec(type="max_predict_latency_ms", value=10_000)  # loads the model: the path the attack took


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    artifacts = tmp_path_factory.mktemp("mlartifacts")
    return Store(f"sqlite:///{artifacts}/mlflow.db", artifacts)


@pytest.fixture
def model() -> str:
    return f"m_{uuid.uuid4().hex[:8]}"


def model_root(store: Store, model: str, version: str) -> Path:
    [mlmodel] = [p for p in store.model_files(model, version) if p.name == "MLmodel"]
    return mlmodel.parent


def test_the_payload_is_live(tmp_path: Path) -> None:
    """The payload the tests plant really runs when unpickled: a refusal below is a refusal, not a dud."""
    pickle.loads(pickle.dumps(Payload(tmp_path / "ran")))
    assert (tmp_path / "ran").exists()


def test_mlmodel_switched_to_cloudpickle_is_refused_and_the_pickle_never_runs(store: Store, model: str, tmp_path: Path) -> None:
    version = register(store, {"test.roc_auc": 0.8}, model=model, own_files=True)
    marker = tmp_path / "payload-ran"
    plant_pickle(model_root(store, model, version), marker)
    with pytest.raises(ModelIntegrityError, match=f"models:/{model}/{version} does not match its recorded sha256"):
        propose_promotion(store.client(), registry_spec(LATENCY, name=model), store.experiment)
    assert not marker.exists(), "the pickle ran"
    assert aliases_of(store.client(), model) == {}


def test_a_pickle_hidden_as_a_nested_mlmodel_changes_the_digest(store: Store, model: str, tmp_path: Path) -> None:
    version = register(store, {"test.roc_auc": 0.8}, model=model, own_files=True)
    root = model_root(store, model, version)
    (root / "extra").mkdir()
    (root / "extra" / "MLmodel").write_bytes(pickle.dumps(Payload(tmp_path / "payload-ran")))
    tags = store.client().get_model_version(model, version).tags
    with pytest.raises(ModelIntegrityError, match="does not match its recorded sha256"):
        load_model(store.client(), f"models:/{model}/{version}", tags)
    assert not (tmp_path / "payload-ran").exists()


def test_the_same_model_logged_twice_has_the_same_digest_and_loads_natively(store: Store, model: str) -> None:
    first = register(store, {"test.roc_auc": 0.8}, model=model, own_files=True)
    second = register(store, {"test.roc_auc": 0.8}, model=model, own_files=True)
    client = store.client()
    tags = [client.get_model_version(model, v).tags for v in (first, second)]
    assert tags[0][SHA_TAG] == tags[1][SHA_TAG] and tags[0][FLAVOR_TAG] == "lightgbm"
    mlmodels = [(model_root(store, model, v) / "MLmodel").read_text() for v in (first, second)]
    assert mlmodels[0] != mlmodels[1], "MLflow's per-logging fields (run id, model id, time) differ"
    booster = load_model(store.client(), f"models:/{model}/{first}", tags[0])
    assert type(booster).__name__ == "Booster" and booster.num_trees() == 5


def test_the_digest_ignores_the_order_mlflow_writes_trusted_types_in(logged_folder: Path, tmp_path: Path) -> None:
    """MLflow writes a flavor's skops_trusted_types from a set: in another order in another process."""
    folder = Path(shutil.copytree(logged_folder, tmp_path / "model"))
    text = (folder / "MLmodel").read_text()
    start = text.index("    skops_trusted_types:\n") + len("    skops_trusted_types:\n")
    end = text.index("  python_function:")
    names = text[start:end].splitlines(keepends=True)
    assert len(names) > 1 and all(line.startswith("    - ") for line in names)
    (folder / "MLmodel").write_text(text[:start] + "".join(reversed(names)) + text[end:])
    assert files_sha256(folder) == files_sha256(logged_folder)


# MLmodel edits that keep no pickle out, on a model folder whose sha256 is re-recorded after the edit (as if
# it had been logged that way): each is refused by the flavor check, naming the MLmodel field.
EDITS = {
    "another flavor": (("  python_function:", "  sklearn:\n    pickled_model: model.lgb\n    serialization_format: skops\n  python_function:"),
                       "flavors declares sklearn besides the recorded 'lightgbm'"),
    "pickle format": (("serialization_format: skops", "serialization_format: cloudpickle"),
                      "flavors.lightgbm.serialization_format is 'cloudpickle'"),
    "pyfunc loader": (("loader_module: mlflow.lightgbm", "loader_module: mlflow.sklearn"),
                      "flavors.python_function.loader_module is 'mlflow.sklearn'"),
    "not a booster": (("model_class: lightgbm.basic.Booster", "model_class: lightgbm.sklearn.LGBMClassifier"),
                      "flavors.lightgbm.model_class"),
    "file outside": (("  lightgbm:\n    code: null\n    data: model.lgb", "  lightgbm:\n    code: null\n    data: ../../../etc/passwd"),
                     "flavors.lightgbm.data is '../../../etc/passwd', not a file of the model"),
}  # fmt: skip


@pytest.fixture(scope="module")
def logged_folder(store: Store, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of a registered tiny model's folder, to edit."""
    model = f"m_{uuid.uuid4().hex[:8]}"
    version = register(store, {"test.roc_auc": 0.8}, model=model, own_files=True)
    return Path(shutil.copytree(model_root(store, model, version), tmp_path_factory.mktemp("logged") / "model"))


@pytest.mark.parametrize("edit", EDITS)
def test_an_mlmodel_that_is_not_the_recorded_flavor_is_refused(logged_folder: Path, tmp_path: Path, edit: str) -> None:
    (old, new), message = EDITS[edit]
    folder = Path(shutil.copytree(logged_folder, tmp_path / "model"))
    text = (folder / "MLmodel").read_text()
    assert old in text, edit
    (folder / "MLmodel").write_text(text.replace(old, new))
    with pytest.raises(ModelIntegrityError, match=message.replace("(", r"\(").replace(".", r"\.")):
        load_model(None, str(folder), {SHA_TAG: files_sha256(folder), FLAVOR_TAG: "lightgbm"})


def test_a_version_without_a_recorded_flavor_or_with_another_is_refused(logged_folder: Path) -> None:
    digest = files_sha256(logged_folder)
    with pytest.raises(ModelIntegrityError, match=r"recorded flavor \(hydraops.flavor\) is None"):
        load_model(None, str(logged_folder), {SHA_TAG: digest})
    with pytest.raises(ModelIntegrityError, match="MLmodel flavors has no 'sklearn' section"):
        load_model(None, str(logged_folder), {SHA_TAG: digest, FLAVOR_TAG: "sklearn"})
    assert load_model(None, str(logged_folder), {SHA_TAG: digest, FLAVOR_TAG: "lightgbm"}).num_trees() == 5


def test_a_symbolic_link_in_the_model_is_refused(logged_folder: Path, tmp_path: Path) -> None:
    folder = Path(shutil.copytree(logged_folder, tmp_path / "model"))
    (folder / "link").symlink_to("/etc/hostname")
    with pytest.raises(ModelIntegrityError, match="is a symbolic link"):
        files_sha256(folder)


def test_scikit_learn_loads_from_skops_with_only_known_packages_trusted(store: Store, tmp_path: Path) -> None:
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import HistGradientBoostingClassifier

    from hydraops.tracking.models import log_model

    x = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) % 3})
    y = (x["a"] > 20).astype(int)
    estimator = HistGradientBoostingClassifier(max_iter=3).fit(x, y)  # skops must trust functools.partial & co
    client = store.client()
    run_id = client.create_run(store.experiment_id()).info.run_id
    logged = log_model(client, run_id, estimator, input_example=x.head(3), signature=None, pip_requirements=["scikit-learn"])
    tags = {SHA_TAG: logged.sha256, FLAVOR_TAG: logged.flavor}
    with verified_model(client, logged.uri, tags) as verified:
        assert (verified.load().predict(x) == estimator.predict(x)).all()
        assert verified.input_example().shape == (3, 2)
        folder = Path(shutil.copytree(verified.local, tmp_path / "model"))
    text = (folder / "MLmodel").read_text()
    (folder / "MLmodel").write_text(text.replace("skops_trusted_types:\n", "skops_trusted_types:\n    - builtins.eval\n"))
    with pytest.raises(ModelIntegrityError, match="skops_trusted_types trusts builtins.eval"):
        load_model(None, str(folder), {SHA_TAG: files_sha256(folder), FLAVOR_TAG: "sklearn"})
