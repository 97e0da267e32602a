"""The one way hydraops loads a registered model: verified, then through its recorded flavor, never pickle.

    with verified_model(tracking.client, "models:/churn/3", version.tags) as model:
        booster_or_estimator = model.load()
        example = model.input_example()

The model's files are copied to a private folder, hashed (``tracking.models.read_model_dir``) and compared
with the recorded sha256; the MLmodel that was hashed must then declare exactly the recorded flavor
(``hydraops.flavor``), with no pickle anywhere: LightGBM as its native text file (``lightgbm.Booster``),
scikit-learn as a skops file loaded with the types the MLmodel trusts, each under a known package.
MLflow's ``pyfunc`` loaders, which follow whatever the MLmodel says, are never used.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydraops.errors import ModelIntegrityError
from hydraops.tracking.models import FLAVOR_TAG, SHA_TAG, read_model_dir

#: The file each flavor loads, named by this MLmodel field of the flavor's section.
MODEL_FILE_FIELD = {"lightgbm": "data", "sklearn": "pickled_model"}
PYFUNC = "python_function"
#: skops may build only types from these packages (what scikit-learn and LightGBM models are made of).
TRUSTED_PACKAGES = frozenset({"sklearn", "lightgbm", "numpy", "scipy", "pandas", "collections", "functools"})


@dataclass(frozen=True)
class VerifiedModel:
    """A private copy of a registered model whose files matched their sha256 and whose MLmodel its flavor."""

    uri: str
    local: Path
    flavor: str
    mlmodel: dict
    model_file: Path

    def load(self) -> Any:
        """The flavor's own model: a ``lightgbm.Booster`` from its text file, or a scikit-learn estimator from skops."""
        try:
            if self.flavor == "lightgbm":
                import lightgbm

                return lightgbm.Booster(model_file=str(self.model_file))
            import skops.io as sio

            return sio.load(self.model_file, trusted=_trusted_types(self))
        except ModelIntegrityError:
            raise
        except Exception as error:  # noqa: BLE001 - the library's own message, named as a refusal
            raise ModelIntegrityError(f"{self.uri}: {self.model_file.name} does not load as a {self.flavor} model "
                                      f"({type(error).__name__}: {error}): refusing it") from None  # fmt: skip

    def input_example(self):
        """The input example logged with the model (JSON, a pandas 'split' frame), or None."""
        import json

        from mlflow.models.signature import ModelSignature
        from mlflow.models.utils import dataframe_from_parsed_json

        info = self.mlmodel.get("saved_input_example_info")
        if not info:
            return None
        if info.get("type") != "dataframe" or info.get("pandas_orient", "split") != "split":
            raise ModelIntegrityError(f"{self.uri}: MLmodel saved_input_example_info.type is {info.get('type')!r}; "
                                      "expected a 'dataframe' example (pandas 'split')")  # fmt: skip
        path = _inside(self.uri, self.local, str(info.get("artifact_path")), "saved_input_example_info.artifact_path")
        signature = self.mlmodel.get("signature")
        schema = ModelSignature.from_dict(signature).inputs if isinstance(signature, dict) else None
        return dataframe_from_parsed_json(json.loads(path.read_text()), pandas_orient="split", schema=schema)


@contextmanager
def verified_model(client, model_uri: str, tags: Mapping[str, str]) -> Iterator[VerifiedModel]:
    """The registered model at ``model_uri`` (``models:/name/version``, ``models:/name@alias``, a run's or a
    store's artifact URI, a folder), fetched through ``client`` (an MlflowClient with explicit URIs) and checked
    against its ``tags`` (the version's: sha256 and flavor); ModelIntegrityError naming the file or field
    otherwise. The copy is removed when the block ends."""
    _check_recorded(model_uri, tags.get(SHA_TAG), tags.get(FLAVOR_TAG))
    with tempfile.TemporaryDirectory(prefix="hydraops-model-") as scratch:
        yield verified_folder(model_uri, Path(download_model(client, model_uri, scratch)), tags[SHA_TAG], tags[FLAVOR_TAG])


def verified_folder(uri: str, local: Path, sha256: str, flavor: str) -> VerifiedModel:
    """A model folder on disk (a bundle's copy) checked against the recorded ``sha256`` and ``flavor``, as
    :func:`verified_model` checks a download; ``uri`` names it in errors. Reads no MLflow store."""
    _check_recorded(uri, sha256, flavor)
    actual, mlmodel = read_model_dir(local)
    if actual != sha256:
        raise ModelIntegrityError(f"model {uri} does not match its recorded sha256 ({sha256[:12]}…, found {actual[:12]}…): refusing to load it")
    return VerifiedModel(uri, local, flavor, mlmodel, _model_file(uri, local, flavor, mlmodel))


def _check_recorded(uri: str, sha256: str | None, flavor: str | None) -> None:
    if not sha256:
        raise ModelIntegrityError(f"model {uri} has no recorded sha256 ({SHA_TAG}): refusing to load it")
    if flavor not in MODEL_FILE_FIELD:
        raise ModelIntegrityError(f"model {uri}: recorded flavor ({FLAVOR_TAG}) is {flavor!r}; hydraops loads only "
                                  f"{' or '.join(sorted(MODEL_FILE_FIELD))} models: refusing to load it")  # fmt: skip


def download_model(client, model_uri: str, destination: str) -> str:
    """Copy the model's files to ``destination`` through ``client``'s stores (None: ``model_uri`` is a folder on
    disk); the local path of the copy. A registry URI is resolved by the client's registry to where the
    version's files are."""
    import mlflow

    if client is None:
        if ":/" in model_uri and not model_uri.startswith("file:"):
            raise ModelIntegrityError(f"model {model_uri}: a store's model needs the stack's client to be fetched")
        return mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=destination)
    if model_uri.startswith("models:/"):
        name, _, version = model_uri.removeprefix("models:/").partition("/")
        if "@" in name:
            name, alias = name.split("@", 1)
            version = client.get_model_version_by_alias(name, alias).version
        model_uri = client.get_model_version_download_uri(name, version)
    return mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=destination, tracking_uri=client.tracking_uri)


def _model_file(uri: str, local: Path, flavor: str, mlmodel: dict) -> Path:
    """The file the recorded flavor loads, once the MLmodel is known to declare that flavor and no pickle."""
    flavors = mlmodel.get("flavors")
    if not isinstance(flavors, dict) or not isinstance(flavors.get(flavor), dict):
        raise ModelIntegrityError(f"{uri}: MLmodel flavors has no '{flavor}' section, the recorded flavor ({FLAVOR_TAG}): "
                                  "refusing to load it")  # fmt: skip
    others = sorted(set(flavors) - {flavor, PYFUNC})
    if others:
        raise ModelIntegrityError(f"{uri}: MLmodel flavors declares {', '.join(others)} besides the recorded '{flavor}': "
                                  "refusing to load it")  # fmt: skip
    pyfunc = flavors.get(PYFUNC) or {}
    loader = pyfunc.get("loader_module", f"mlflow.{flavor}") if isinstance(pyfunc, dict) else pyfunc
    if loader != f"mlflow.{flavor}":
        raise ModelIntegrityError(f"{uri}: MLmodel flavors.{PYFUNC}.loader_module is {loader!r}; "
                                  f"expected 'mlflow.{flavor}' (the recorded flavor): refusing to load it")  # fmt: skip
    section = flavors[flavor]
    form = section.get("serialization_format")  # MLflow's scikit-learn loader takes a missing one as pickle
    if form != "skops" and (flavor == "sklearn" or form is not None):
        raise ModelIntegrityError(f"{uri}: MLmodel flavors.{flavor}.serialization_format is {form!r}; "
                                  "hydraops loads only 'skops' (never pickle): refusing to load it")  # fmt: skip
    if flavor == "lightgbm" and section.get("model_class") != "lightgbm.basic.Booster":
        raise ModelIntegrityError(f"{uri}: MLmodel flavors.lightgbm.model_class is {section.get('model_class')!r}; "
                                  "expected 'lightgbm.basic.Booster' (LightGBM's native text file): refusing to load it")  # fmt: skip
    field = MODEL_FILE_FIELD[flavor]
    return _inside(uri, local, str(section.get(field)), f"flavors.{flavor}.{field}")


def _inside(uri: str, local: Path, relative: str, field: str) -> Path:
    """``local / relative``, an existing file inside the model's folder; else ModelIntegrityError."""
    path = (local / relative).resolve()
    if not path.is_relative_to(local.resolve()) or not path.is_file():
        raise ModelIntegrityError(f"{uri}: MLmodel {field} is {relative!r}, not a file of the model: refusing to load it")
    return path


def _trusted_types(model: VerifiedModel) -> list[str]:
    """The types the MLmodel tells skops to trust, each from a package a scikit-learn model is made of."""
    declared = model.mlmodel["flavors"]["sklearn"].get("skops_trusted_types") or []
    field = "flavors.sklearn.skops_trusted_types"
    if not isinstance(declared, list) or not all(isinstance(name, str) for name in declared):
        raise ModelIntegrityError(f"{model.uri}: MLmodel {field} must be a list of type names: refusing to load it")
    refused = [name for name in declared if name.split(".", 1)[0] not in TRUSTED_PACKAGES]
    if refused:
        raise ModelIntegrityError(f"{model.uri}: MLmodel {field} trusts {', '.join(refused)}, outside "
                                  f"{', '.join(sorted(TRUSTED_PACKAGES))}: refusing to load it")  # fmt: skip
    return declared
