"""Registered versions with chosen metrics, for promotion tests: each a real MLflow run with a real (tiny)
LightGBM model logged the way ``hydraops train`` logs it (no pickle, sha256 tag), registered with its tags."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hydraops.config.schemas.lifecycle import CandidateSpec, GateSpec, RegistrySpec
from hydraops.tracking.models import LoggedModel

EXPERIMENT = "churn"
MODEL = "churn"


@dataclass(frozen=True)
class Store:
    """An MLflow store (SQLite file or server URL) and the folder its artifacts land in."""

    uri: str
    artifacts: Path
    experiment: str = EXPERIMENT

    def client(self):
        """A client on the store; a new SQLite store starts as a copy of the cached empty one, as train's does."""
        from mlflow.tracking import MlflowClient

        from hydraops.tracking.sqlite_seed import default_store_cache, seed_sqlite_store

        if self.uri.startswith("sqlite:///"):
            seed_sqlite_store(Path(self.uri.removeprefix("sqlite:///")), default_store_cache())
        return MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)

    def experiment_id(self, name: str | None = None) -> str:
        from hydraops.tracking.runs import ensure_experiment

        embedded = self.uri.startswith("sqlite:")  # a server puts artifacts in its --artifacts-destination
        return ensure_experiment(self.client(), name or self.experiment, str(self.artifacts) if embedded else None)

    def model_files(self, model: str, version: str) -> list[Path]:
        """The files of a registered version, where the store keeps them (to tamper with them): the
        ``<run id>/artifacts/model`` folder of the run its source names."""
        folder = "/".join(self.client().get_model_version(model, version).source.split("/")[-3:]) + "/"
        return [p for p in self.artifacts.rglob("*") if p.is_file() and folder in p.as_posix()]


def register(store: Store, metrics: dict[str, float], *, model: str = MODEL, data_checks: str = "passed",
             tags: dict[str, str] | None = None, own_files: bool = False) -> str:  # fmt: skip
    """A run with ``metrics`` (and the data-checks tag train writes), registered as a new version of ``model``;
    returns the version. Its model is a tiny LightGBM logged the way train logs one, shared by the store's
    versions unless ``own_files`` (to tamper with them)."""
    from hydraops.tracking.tags import DATA_CHECKS, FLAVOR, MODEL_SHA256

    client = store.client()
    logged = _log_tiny_model(store) if own_files else _shared_model(store)
    run = client.create_run(store.experiment_id(), tags={DATA_CHECKS: data_checks, **(tags or {})})
    for key, value in metrics.items():
        client.log_metric(run.info.run_id, key, value)
    client.set_terminated(run.info.run_id)
    if not client.search_registered_models(f"name='{model}'"):
        client.create_registered_model(model)
    tags = {MODEL_SHA256: logged.sha256, FLAVOR: logged.flavor}
    client.log_artifacts(run.info.run_id, _files(store, logged), "model")  # a server wants a version's source inside its run
    version = client.create_model_version(model, f"{run.info.artifact_uri}/model", run_id=run.info.run_id, tags=tags)
    return str(version.version)


_FILES: dict[str, str] = {}


def _files(store: Store, logged: TinyModel) -> str:
    """The model's files, downloaded once per model."""
    import tempfile

    if logged.run_id not in _FILES:
        _FILES[logged.run_id] = store.client().download_artifacts(logged.run_id, "model", tempfile.mkdtemp(prefix="tiny-model-"))
    return _FILES[logged.run_id]


_SHARED: dict[str, TinyModel] = {}


def _shared_model(store: Store) -> TinyModel:
    if store.uri not in _SHARED:
        _SHARED[store.uri] = _log_tiny_model(store)
    return _SHARED[store.uri]


@dataclass(frozen=True)
class TinyModel(LoggedModel):
    run_id: str = ""  # the run its files were logged to


def _log_tiny_model(store: Store) -> TinyModel:
    """A tiny LightGBM classifier logged with hydraops' log_model."""
    import lightgbm
    import numpy as np
    import pandas as pd
    from mlflow.models import infer_signature

    from hydraops.tracking.models import log_model

    rng = np.random.default_rng(7)
    x = pd.DataFrame({"age": rng.integers(18, 80, 200).astype(float), "spend": rng.random(200)})
    y = (x["spend"] > 0.5).astype(int)
    estimator = lightgbm.LGBMClassifier(n_estimators=5, num_leaves=4, verbose=-1, deterministic=True, seed=1).fit(x, y)
    client = store.client()
    run_id = client.create_run(store.experiment_id(), run_name="tiny model").info.run_id
    signature = infer_signature(x.head(20), estimator.predict_proba(x.head(20))[:, 1])
    logged = log_model(client, run_id, estimator, input_example=x.head(5), signature=signature, pip_requirements=["lightgbm"])
    client.set_terminated(run_id)
    return TinyModel(logged.uri, logged.sha256, logged.flavor, run_id)


def registry_spec(*gates: GateSpec, on_pass: str = "champion", candidate: CandidateSpec | None = None, name: str = MODEL) -> RegistrySpec:
    return RegistrySpec(name=name, gates=list(gates), on_pass=on_pass, candidate=candidate or CandidateSpec())


BEATS = GateSpec(type="beats_champion", metric="roc_auc", split="test", min_delta=0.0)


class Payload:
    """A real pickle payload: unpickling it creates ``marker`` (the proof that a pickle ran)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def plant_pickle(root: Path, marker: Path) -> None:
    """Issue 9's attack on a logged LightGBM model folder: a pickle hidden as a file named MLmodel
    (``extra/p/MLmodel``), and the root MLmodel switched to MLflow's scikit-learn loader with
    ``serialization_format: cloudpickle`` (through ``extra/MLmodel``). MLflow's pyfunc loader runs it."""
    import pickle

    (root / "extra" / "p").mkdir(parents=True)
    (root / "extra" / "p" / "MLmodel").write_bytes(pickle.dumps(Payload(marker)))
    sklearn = "  sklearn:\n    pickled_model: p/MLmodel\n    serialization_format: cloudpickle\n"
    pyfunc = "  python_function:\n    loader_module: mlflow.sklearn\n    model_path: p/MLmodel\n"
    (root / "extra" / "MLmodel").write_text(f"flavors:\n{sklearn}{pyfunc}")
    text = (root / "MLmodel").read_text()
    text = text.replace("loader_module: mlflow.lightgbm", "loader_module: mlflow.sklearn")
    text = text.replace("  python_function:\n    data: model.lgb", "  python_function:\n    data: extra")
    (root / "MLmodel").write_text(text.replace("flavors:\n", f"flavors:\n{sklearn.replace('p/MLmodel', 'extra/p/MLmodel')}"))
