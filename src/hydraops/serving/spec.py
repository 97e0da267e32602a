"""The serving spec: what one bundle serves, written as ``serving.json`` beside the model files.

It is built once from the project's typed spec and the registered version (``ServingSpec.create``), and read
back with ``ServingSpec.from_json`` by the service and the batch scorer, which import no Hydra and read no
``conf/``. It never holds a secret: the online store's connection comes from the serving machine.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hydraops.config.schemas import ProjectSpec

FORMAT = 1  # bump when a field changes meaning
FILE = "serving.json"


@dataclass(frozen=True)
class FeatureField:
    """One model input as declared: its dtype and the checks a served value must pass. ``view`` is the
    feature view it is looked up from (None: a request-time feature, given with the request)."""

    name: str
    dtype: str | None = None  # a hydraops Dtype value ("int64", "float64", "string", "category", "bool", "timestamp")
    nullable: bool = True
    ge: float | None = None
    le: float | None = None
    isin: list[Any] | None = None
    view: str | None = None


@dataclass(frozen=True)
class ViewLookup:
    """How one feature view is looked up online: its entity's join keys, its features, its TTL."""

    name: str
    join_keys: list[str]
    features: list[str]
    ttl_seconds: float | None = None
    #: Join key → "integer" or "string", as the view's source declares it (a key it does not declare takes either).
    key_types: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelRef:
    """The registered version a bundle serves, as the registry recorded it."""

    name: str
    version: str
    run_id: str
    alias: str | None
    flavor: str  # "lightgbm" or "sklearn"
    sha256: str  # of the model folder (hydraops.tracking.models.files_sha256)
    config_digest: str = ""
    git_commit: str = ""


@dataclass(frozen=True)
class ShadowRef:
    """The version ``deploy.shadow`` points to, scored beside the served one and only logged: its inputs
    (a subset of the served model's, in its order) and their training categories."""

    model: ModelRef
    features: list[str]
    categories: dict[str, list] = field(default_factory=dict)


@dataclass(frozen=True)
class ServingSpec:
    """Everything a service or a batch scorer needs: the model, its inputs in model order with their
    training categories, the views to look up, the task and the service's limits and policies."""

    project: str
    model: ModelRef
    task: str  # "classification" (the probability of class 1) or "regression"
    features: list[FeatureField]  # the model's inputs, in the order it takes them
    categories: dict[str, list] = field(default_factory=dict)  # training levels of each categorical input
    views: list[ViewLookup] = field(default_factory=list)
    online_store: dict[str, Any] = field(default_factory=dict)  # the online store's spec, no secret
    service: dict[str, Any] = field(default_factory=dict)  # deploy.service as declared
    prediction_log: dict[str, Any] | None = None  # stack.prediction_log, no secret (None: no log)
    shadow: ShadowRef | None = None  # deploy.shadow's version, in the bundle's shadow/ folder
    background: list[float] = field(default_factory=list)  # a linear model's mean encoded training row (explanations)
    registry: dict[str, Any] = field(default_factory=dict)  # {"uri": the model registry, no credentials}: /readyz's alias check
    format: int = FORMAT

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True, default=str)

    @classmethod
    def from_json(cls, text: str) -> ServingSpec:
        data = json.loads(text)
        if data.get("format") != FORMAT:
            raise ValueError(f"{FILE}: format {data.get('format')!r}, this hydraops reads format {FORMAT}: rebuild the bundle")
        return cls(
            **{
                **data,
                "model": ModelRef(**data["model"]),
                "features": [FeatureField(**f) for f in data["features"]],
                "views": [ViewLookup(**v) for v in data["views"]],
                "shadow": None if data.get("shadow") is None else ShadowRef(**{**data["shadow"], "model": ModelRef(**data["shadow"]["model"])}),
            }
        )

    @classmethod
    def create(cls, spec: ProjectSpec, model: ModelRef, inputs: dict[str, Any], shadow: ShadowRef | None = None) -> ServingSpec:
        """From the project's spec, the registered version and its run's ``model_inputs.json``
        (``{"features": [...], "categories": {...}}``): the declared checks of each input, the views its
        features come from, the online store and the prediction log (their type and where, without
        credentials), ``deploy.service`` and the shadow version."""
        from hydraops.features.repo import key_kinds, to_us
        from hydraops.serving.alias_watch import public_uri

        declared = _declared_fields(spec)
        kinds = key_kinds(spec.features, spec.data)
        features = [declared.get(name, FeatureField(name)) for name in inputs["features"]]
        used = {f.view for f in features if f.view is not None}
        views = [
            ViewLookup(
                name=name,
                join_keys=list(spec.features.entities[view.entity].join_keys),
                features=[n for n in view.feature_names() if n in inputs["features"]],
                ttl_seconds=None if view.ttl is None else to_us(view.ttl) / 1e6,
                key_types={key: kinds[key] for key in spec.features.entities[view.entity].join_keys if key in kinds},
            )
            for name, view in spec.features.views.items()
            if name in used
        ]
        return cls(
            project=spec.project,
            model=model,
            task=spec.model.task.value,
            features=features,
            categories=dict(inputs.get("categories", {})),
            views=views,
            online_store=_public_store(spec),
            service=_plain(spec.deploy.service),
            prediction_log=_public_log(spec),
            shadow=shadow,
            background=[float(v) for v in inputs.get("background") or []],
            registry={"uri": public_uri(spec.stack.registry_uri or spec.stack.tracking_uri)},
        )


def registered(client, name: str, version: str, alias: str | None, config_digest: str | None = None) -> tuple[ModelRef, dict[str, Any], dict[str, str]]:
    """A registered version as a bundle records it, through ``client`` (an MlflowClient): its ModelRef (the
    recorded flavor, sha256, config digest unless given, and its run's git commit), its run's
    ``model_inputs.json`` (the inputs in order and their training categories) and the version's tags."""
    import tempfile
    from pathlib import Path

    from hydraops.errors import ServingError
    from hydraops.tracking import tags as T

    details = client.get_model_version(name, version)
    run = client.get_run(details.run_id)
    tags = dict(details.tags)
    ref = ModelRef(name, str(version), details.run_id, alias, tags.get(T.FLAVOR, ""), tags.get(T.MODEL_SHA256, ""),
                   tags.get(T.CONFIG_DIGEST, "") if config_digest is None else config_digest, run.data.tags.get(T.SOURCE_GIT_COMMIT, ""))  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="hydraops-inputs-") as scratch:
        try:
            path = client.download_artifacts(details.run_id, "model_inputs.json", scratch)
        except Exception as error:  # noqa: BLE001 - MLflow's message, named as what is missing
            raise ServingError(
                f"run {details.run_id} has no model_inputs.json artifact ({str(error).splitlines()[0]}): train the model with `hydraops train`"
            ) from None
        inputs = json.loads(Path(path).read_text())
    return ref, inputs, tags


def _declared_fields(spec: ProjectSpec) -> dict[str, FeatureField]:
    """Every feature the project declares, with its checks: row features, aggregates (float, nullable) and
    the labels' request-time columns (their declared source columns)."""
    fields: dict[str, FeatureField] = {}
    for view_name, view in spec.features.views.items():
        for name, feature in view.features.items():
            dtype = None if feature.dtype is None else feature.dtype.value
            fields[name] = FeatureField(name, dtype, feature.nullable, feature.ge, feature.le, _plain(feature.isin), view_name)
        for _, func, _, name in view.aggregates():
            fields[name] = FeatureField(name, "int64" if func.value == "count" else "float64", True, view=view_name)
    labels = spec.features.labels
    if labels is not None:
        columns = spec.data.sources[labels.source].columns
        for name in labels.features:
            column = columns.get(name)
            if column is None:
                fields[name] = FeatureField(name)
            else:
                fields[name] = FeatureField(name, column.dtype.value, column.nullable, column.ge, column.le, _plain(column.isin))
    return fields


def _public_store(spec: ProjectSpec) -> dict[str, Any]:
    """The online store's declaration without anything secret: a URL keeps its scheme, host, port and
    database, never a user or password (the serving machine gives those)."""
    return _without_secret(_plain(spec.stack.online_store))


def _public_log(spec: ProjectSpec) -> dict[str, Any] | None:
    """Where the prediction log goes (``stack.prediction_log``, a parquet directory made absolute), no
    secret; None when the stack declares none or ``deploy.service.prediction_log.enabled`` is false."""
    from pathlib import Path

    where = spec.stack.prediction_log
    if where is None or not spec.deploy.service.prediction_log.enabled:
        return None
    log = _without_secret(_plain(where))
    if log.get("path"):
        log["path"] = str(Path(log["path"]).resolve())
    return log


def _without_secret(store: dict[str, Any]) -> dict[str, Any]:
    from urllib.parse import urlsplit, urlunsplit

    if isinstance(store.get("url"), str):
        parts = urlsplit(store["url"])
        host = parts.hostname or ""
        store["url"] = urlunsplit((parts.scheme, f"{host}:{parts.port}" if parts.port else host, parts.path, "", ""))
    return store


def _plain(value: Any) -> Any:
    """Dataclasses, OmegaConf containers and enums as plain JSON values."""
    from dataclasses import is_dataclass
    from enum import Enum

    if value is None or isinstance(value, (str, int, float, bool)):
        return value.value if isinstance(value, Enum) else value
    if isinstance(value, Enum):
        return value.value
    if is_dataclass(value):
        return {k: _plain(v) for k, v in vars(value).items()}
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) or hasattr(value, "__iter__"):
        return [_plain(v) for v in value]
    return value
