"""Models logged without pickle (LightGBM's native text, skops for scikit-learn), with a sha256 and a flavor
recorded at registration; ``tracking.model_load`` checks both again before any load.

The sha256 covers every file of the logged model, ``MLmodel`` included (it picks the loader and the
serialization format). Only MLflow's metadata of one particular logging is left out of it: the fields
``PER_LOGGING_FIELDS`` of the root ``MLmodel`` (hashed in a canonical form without them, its lists of
trusted types in name order) and the root ``registered_model_meta`` (the registry's note about a
registration, never read by a load). So the same model logged twice has the same digest, and any other
change to any file changes it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydraops.errors import ModelIntegrityError
from hydraops.tracking.tags import FLAVOR as FLAVOR_TAG
from hydraops.tracking.tags import MODEL_SHA256 as SHA_TAG

#: The folder of a run's artifacts that holds its model.
MODEL_NAME = "model"

MLMODEL = "MLmodel"
REGISTRY_META = "registered_model_meta"
#: The root MLmodel's fields MLflow writes anew at each logging (ids, time, where it was stored).
PER_LOGGING_FIELDS = frozenset({"run_id", "model_uuid", "model_id", "utc_time_created", "artifact_path"})


@dataclass(frozen=True)
class LoggedModel:
    uri: str  # where the model's files are: ``<the run's artifact uri>/model``
    sha256: str
    flavor: str


def log_model(client, run_id: str, estimator: Any, *, input_example, signature, pip_requirements: list[str]) -> LoggedModel:
    """Save the fitted estimator (a LightGBM booster in its native text format, anything else with skops) to a
    scratch folder, hash it, upload it as the run's ``model`` artifacts and tag the run with its sha256 and
    flavor; returns them with the model's artifact URI."""
    import tempfile

    import mlflow

    booster = getattr(_final(estimator), "booster_", None)
    common = {"input_example": input_example, "signature": signature, "pip_requirements": pip_requirements}
    with tempfile.TemporaryDirectory(prefix="hydraops-model-") as scratch:
        path = Path(scratch) / MODEL_NAME
        if booster is not None and _final(estimator) is estimator:
            # The booster takes prepared features: categoricals as pandas categories with the training levels
            # (model_inputs.json); hydraops' serving prepares the features before calling the model.
            mlflow.lightgbm.save_model(booster, str(path), serialization_format="skops", **common)
            flavor = "lightgbm"
        else:
            mlflow.sklearn.save_model(estimator, str(path), serialization_format="skops", skops_trusted_types=_trusted(estimator), **common)
            flavor = "sklearn"
        digest = files_sha256(path)
        client.log_artifacts(run_id, str(path), MODEL_NAME)
    from mlflow.entities import RunTag

    client.log_batch(run_id, tags=[RunTag(SHA_TAG, digest), RunTag(FLAVOR_TAG, flavor)])
    return LoggedModel(f"{client.get_run(run_id).info.artifact_uri}/{MODEL_NAME}", digest, flavor)


def register_model(client, name: str, model: LoggedModel, run_id: str, tags: dict[str, str]) -> str:
    """A new version of registered model ``name`` (created when missing) for the run's logged model; its number."""
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(name)
    except MlflowException as error:
        if error.error_code != "RESOURCE_ALREADY_EXISTS":  # registered before, or meanwhile by a parallel job
            raise
    version = client.create_model_version(name, model.uri, run_id=run_id, tags=tags)
    return str(version.version)


def files_sha256(local: Path) -> str:
    """sha256 of a model folder on disk (see the module's docstring)."""
    return read_model_dir(local)[0]


def read_model_dir(local: Path) -> tuple[str, dict]:
    """(sha256, the root MLmodel parsed) of a model folder: one read of each file, so the MLmodel a load
    then follows is the one hashed. A symbolic link or an unreadable MLmodel is a ModelIntegrityError."""
    digest = hashlib.sha256()
    mlmodel: dict = {}
    for relative in _files(local):
        data = (local / relative).read_bytes()
        if relative == MLMODEL:
            mlmodel = parse_mlmodel(data, local)
            data = json.dumps(_canonical(mlmodel), sort_keys=True, default=str).encode()
        elif relative == REGISTRY_META:
            continue
        digest.update(f"{relative}\0{len(data)}\0".encode() + data)
    return digest.hexdigest(), mlmodel


def parse_mlmodel(data: bytes, local: Path) -> dict:
    """The root MLmodel as a mapping (YAML, safe loader: plain data only)."""
    import yaml

    try:
        parsed = yaml.safe_load(data.decode())
    except (UnicodeDecodeError, yaml.YAMLError) as error:
        raise ModelIntegrityError(f"{local / MLMODEL}: not a readable MLmodel ({type(error).__name__}): refusing to load it") from None
    if not isinstance(parsed, dict):
        raise ModelIntegrityError(f"{local / MLMODEL}: expected a YAML mapping, found {type(parsed).__name__}: refusing to load it")
    return parsed


def _canonical(mlmodel: dict) -> dict:
    """The MLmodel without its per-logging fields, each flavor's ``skops_trusted_types`` in name order (a set
    that MLflow writes in no fixed order)."""
    canonical = {key: value for key, value in mlmodel.items() if key not in PER_LOGGING_FIELDS}
    flavors = canonical.get("flavors")
    if isinstance(flavors, dict):
        canonical["flavors"] = {name: _sorted_trusted(section) for name, section in flavors.items()}
    return canonical


def _sorted_trusted(section: Any) -> Any:
    trusted = section.get("skops_trusted_types") if isinstance(section, dict) else None
    if isinstance(trusted, list) and all(isinstance(name, str) for name in trusted):
        return {**section, "skops_trusted_types": sorted(trusted)}
    return section


def _files(local: Path) -> Iterator[str]:
    """Every file under ``local`` as a relative POSIX path, in name order; a symbolic link is refused."""
    found = []
    for folder, dirs, files in os.walk(local):
        for name in [*dirs, *files]:
            path = Path(folder) / name
            if path.is_symlink():
                raise ModelIntegrityError(f"model file {path} is a symbolic link: refusing to load it")
        found += [(Path(folder) / name).relative_to(local).as_posix() for name in files]
    return iter(sorted(found))


def load_model(client, model_uri: str, tags: dict[str, str]):
    """The flavor's own model (no pickle), after checking its files against the sha256 and flavor ``tags``;
    downloaded through ``client`` (an MlflowClient with explicit URIs)."""
    from hydraops.tracking.model_load import verified_model

    with verified_model(client, model_uri, tags) as model:
        return model.load()


def _final(estimator: Any) -> Any:
    steps = getattr(estimator, "steps", None)
    return steps[-1][1] if steps else estimator


def _trusted(estimator: Any) -> list[str]:
    """The types skops must trust to load this estimator: what its own audit reports as unknown."""
    import tempfile

    import skops.io as sio

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "model.skops"
        sio.dump(estimator, path)
        return sio.get_untrusted_types(file=path)
