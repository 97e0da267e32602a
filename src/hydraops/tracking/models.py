"""Models logged without pickle (LightGBM's native text, skops for scikit-learn), with a sha256 that is
recorded at registration and checked again before any load."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydraops.errors import ModelIntegrityError

MODEL_NAME = "model"
SHA_TAG = "hydraops.model_sha256"


@dataclass(frozen=True)
class LoggedModel:
    uri: str
    sha256: str
    flavor: str


def log_model(estimator: Any, *, input_example, signature, pip_requirements: list[str]) -> LoggedModel:  # noqa: ANN001
    """Log the fitted estimator to the active run: a LightGBM booster in its native text format, anything
    else with skops; returns its URI and the sha256 of its files."""
    import mlflow

    booster = getattr(_final(estimator), "booster_", None)
    common = {"name": MODEL_NAME, "input_example": input_example, "signature": signature, "pip_requirements": pip_requirements}
    if booster is not None and _final(estimator) is estimator:
        # The booster takes prepared features: categoricals as pandas categories with the training levels
        # (model_inputs.json). A JSON round trip of the example loses that dtype, so MLflow's serving check
        # cannot pass; hydraops' serving prepares the features before calling the model.
        info = mlflow.lightgbm.log_model(booster, validate_serving_input=False, **common)
        flavor = "lightgbm"
    else:
        info = mlflow.sklearn.log_model(estimator, serialization_format="skops", skops_trusted_types=_trusted(estimator), **common)
        flavor = "sklearn"
    digest = model_sha256(info.model_uri)
    mlflow.set_tag(SHA_TAG, digest)
    return LoggedModel(info.model_uri, digest, flavor)


#: Not part of the model's identity: MLflow's metadata of this particular logging (run id, uuid, time)
#: and the registry's metadata about a registration. Everything else (weights, environment, examples) is.
METADATA_FILES = frozenset({"MLmodel", "registered_model_meta"})


def model_sha256(model_uri: str) -> str:
    """sha256 over the files of the logged model (names and bytes, in name order), MLflow's per-logging
    metadata aside: the same model logged twice has the same digest."""
    import mlflow

    return files_sha256(Path(mlflow.artifacts.download_artifacts(model_uri)))


def files_sha256(local: Path) -> str:
    """The digest ``model_sha256`` computes, over a model folder already on disk."""
    digest = hashlib.sha256()
    for path in sorted(p for p in local.rglob("*") if p.is_file() and p.name not in METADATA_FILES):
        digest.update(str(path.relative_to(local)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def verified_model_dir(model_uri: str, expected_sha256: str | None) -> Path:
    """A local copy of the logged model whose files match the recorded sha256; else ModelIntegrityError.

    Load from this folder: the bytes checked are then the bytes loaded."""
    import mlflow

    if not expected_sha256:
        raise ModelIntegrityError(f"model {model_uri} has no recorded sha256 ({SHA_TAG}): refusing to load it")
    local = Path(mlflow.artifacts.download_artifacts(model_uri))
    actual = files_sha256(local)
    if actual != expected_sha256:
        raise ModelIntegrityError(
            f"model {model_uri} does not match its recorded sha256 ({expected_sha256[:12]}…, found {actual[:12]}…): "
            "refusing to load it"
        )
    return local


def load_model(model_uri: str, expected_sha256: str | None):  # noqa: ANN201 - a pyfunc model
    """Load a logged model after checking its files against the recorded sha256."""
    import mlflow

    return mlflow.pyfunc.load_model(str(verified_model_dir(model_uri, expected_sha256)))


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
