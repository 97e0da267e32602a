"""The serving stage: build the bundle of the version ``deploy.alias`` points to (and of the one ``deploy.shadow``
points to, scored beside it and only logged), unless the bento store holds it.

Planning resolves the alias through ``Tracking.reader`` (no MLflow import on an embedded SQLite store, no
download) and looks for the bento's tag in the store (``stack.bento_home``); the handler downloads the
version (sha256 and flavor checked), writes the build context under ``paths.artifacts_dir/bundles`` and runs
``bentoml build``. After a training run or an alias move planned in the same plan, the version is resolved
at apply, and a bento already there is then skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from hydraops.config.secrets import redact_url
from hydraops.errors import RegistryError, ServingError
from hydraops.plan.context import RunContext
from hydraops.plan.model import Action, Effect, Outcome, Result
from hydraops.serving import bundle
from hydraops.serving.defaults import require_defaults
from hydraops.tracking import tags as T

#: deploy.target values that serve a bundle (``batch`` scores files and needs none).
BUNDLE_TARGETS = ("bentoml", "container")
#: Where build contexts are written, under ``paths.artifacts_dir``.
CONTEXTS = "bundles"


@dataclass(frozen=True, kw_only=True)
class BuildBundle(Action):
    """Build the bento of ``model`` v``version`` (None: the version ``alias`` points to once the stages
    planned before have run) under the config ``config_digest``, tagged ``tag``; with ``shadow`` (an alias),
    its ``shadow_version`` too (None with ``version``)."""

    stage: ClassVar[str] = "serving"
    model: str
    alias: str
    version: str | None
    run_id: str | None
    config_digest: str
    tag: str | None
    registry: str = ""
    bento_home: str = ""
    shadow: str | None = None
    shadow_version: str | None = None
    required: bool = field(default=False, compare=False)  # the build verb: a version it cannot bundle is an error, not a skip

    @property
    def name(self) -> str:
        return f"build bundle {self.tag or f'of {self.model}@{self.alias}'}"

    @property
    def inputs(self) -> tuple[str, ...]:
        which = f"v{self.version} (@{self.alias})" if self.version else f"@{self.alias}: the version it points to after the registry stage"
        shadow = (
            ()
            if self.shadow is None
            else (f"shadow {self.model} " + (f"v{self.shadow_version} (@{self.shadow})" if self.shadow_version else f"@{self.shadow}"),)
        )
        return (f"model {self.model} {which} in {self.registry}", *shadow)

    @property
    def outputs(self) -> tuple[str, ...]:
        return (f"bento store {self.bento_home}",)


def plan(spec, ctx: RunContext, *, earlier: tuple[Action, ...] = (), alias: str | None = None, required: bool = False) -> list[Action]:
    """The bundle the alias asks for today. ``required`` (the build verb): a missing registry, model or alias is
    a RegistryError (exit 2); otherwise (plan, apply) the stage plans nothing for a target that serves no
    bundle, and a skip saying why when there is nothing to build yet."""
    if not required and str(spec.deploy.target) not in BUNDLE_TARGETS:
        return []
    alias = alias or spec.deploy.alias
    model, where = spec.registry.name, redact_url(spec.stack.registry_uri or spec.stack.tracking_uri)
    shadow = spec.deploy.shadow
    common = dict(model=model, alias=alias, config_digest=ctx.config_digest, registry=where, bento_home=str(spec.stack.bento_home),
                  required=required, shadow=shadow)  # fmt: skip
    if _moves_before(earlier, alias) or (shadow is not None and _moves_before(earlier, shadow)):
        return [BuildBundle(effect=Effect.create, version=None, run_id=None, tag=None, **common,
                            notes=(f"the version {alias} points to is known once the stages before have run",))]  # fmt: skip
    missing = ctx.tracking.missing_store()
    if missing is not None:
        return _nothing(required, f"no registry yet: {missing} does not exist; run `hydraops train` first", common)
    reader = ctx.tracking.reader()
    found = reader.registered_model(model)
    if found is None:
        return _nothing(required, f"no registered model '{model}' in the registry {where}: run `hydraops train` first", common)
    version = found.aliases.get(alias)
    if version is None:
        known = ", ".join(f"{a} → v{v}" for a, v in sorted(found.aliases.items())) or "none"
        why = f"model '{model}' in the registry {where} has no alias '{alias}' (deploy.alias; aliases: {known}): promote a version first"
        return _nothing(required, why, common)
    shadow_version = found.aliases.get(shadow) if shadow is not None else None
    if shadow is not None and shadow_version is None:
        return _nothing(required, _no_shadow(model, where, shadow, found.aliases), common, key="deploy.shadow")
    record = reader.version(model, version)
    run = reader.run(record.run_id) if record is not None and record.run_id else None
    refused = unexplainable(spec, model, version, record.tags.get(T.FLAVOR, "") if record else "", run.tags.get(T.MODEL) if run else None)
    if refused:
        return _nothing(required, refused, common, error=ServingError, key="deploy.service.explain")
    tag = bundle.bento_tag(spec.project, version, ctx.config_digest, shadow_version)
    built = bundle.is_built(spec.stack.bento_home, tag)
    note = f"{tag} is in the bento store" if built else f"no bento {tag} in the store yet"
    return [BuildBundle(effect=Effect.skip if built else Effect.create, version=version, run_id=record.run_id if record else None,
                        tag=tag, shadow_version=shadow_version, **common, notes=(note,))]  # fmt: skip


def build_bundle(action: BuildBundle, ctx: RunContext) -> Result:
    """Write the build context (:func:`write_context`) and ``bentoml build`` it. The Result's value is the bento's tag."""
    from dataclasses import replace

    spec, client = ctx.spec, ctx.tracking.client
    version = action.version or _resolve(client, action.model, action.alias, required=action.required)
    if version is None:
        return Result(action, Outcome.skipped, f"nothing to build: model '{action.model}' has no alias '{action.alias}' (deploy.alias)")
    shadow_version = action.shadow_version
    if action.shadow is not None and shadow_version is None:
        shadow_version = _resolve(client, action.model, action.shadow, required=action.required, key="deploy.shadow")
        if shadow_version is None:
            return Result(action, Outcome.skipped, f"nothing to build: model '{action.model}' has no alias '{action.shadow}' (deploy.shadow)")
    tag = bundle.bento_tag(spec.project, version, action.config_digest, shadow_version)
    if action.version is None and bundle.is_built(spec.stack.bento_home, tag):
        return Result(action, Outcome.skipped, f"{tag} is in the bento store", tag)
    if not action.required:  # apply: a version the config cannot bundle is said, not an error at the end of the lifecycle
        details = client.get_model_version(action.model, version)
        refused = unexplainable(spec, action.model, version, details.tags.get(T.FLAVOR, ""), client.get_run(details.run_id).data.tags.get(T.MODEL))
        if refused:
            return Result(action, Outcome.skipped, f"not built: {refused}")
    try:
        directory = write_context(replace(action, version=version, tag=tag, shadow_version=shadow_version), ctx)
    except ServingError as error:
        if action.required or error.key != "deploy.service.explain":
            raise
        return Result(action, Outcome.skipped, f"not built: {error}")
    built = bundle.build_bento(directory, spec.stack.bento_home, version=tag.partition(":")[2])
    return Result(action, Outcome.done, f"bento {built} in {spec.stack.bento_home}", built)


def write_context(action: BuildBundle, ctx: RunContext, **options) -> Path:
    """The build context of the action's version (resolved from its alias when the plan could not), and
    of its shadow's: each version downloaded with its sha256 and flavor checked, its run's
    ``model_inputs.json``, the ServingSpec; ``options`` go to :func:`bundle.prepare_context` (a test's
    stand-in service)."""
    from contextlib import ExitStack

    from hydraops.serving.spec import ServingSpec, ShadowRef, registered
    from hydraops.tracking.model_load import verified_model

    spec, client = ctx.spec, ctx.tracking.client
    version = action.version or _resolve(client, action.model, action.alias)
    shadow_version = action.shadow_version or (_resolve(client, action.model, action.shadow, key="deploy.shadow") if action.shadow else None)
    tag = bundle.bento_tag(spec.project, version, action.config_digest, shadow_version)
    ref, inputs, tags = registered(client, action.model, version, action.alias, action.config_digest)
    refused = unexplainable(spec, action.model, version, ref.flavor, client.get_run(ref.run_id).data.tags.get(T.MODEL))
    if refused:
        raise ServingError(refused, key="deploy.service.explain")
    shadow = shadow_tags = None
    if shadow_version is not None:
        shadow_ref, shadow_inputs, shadow_tags = registered(client, action.model, shadow_version, action.shadow)
        lacking = [name for name in shadow_inputs["features"] if name not in inputs["features"]]
        if lacking:
            raise ServingError(f"the shadow {action.model} v{shadow_version} (@{action.shadow}) takes input(s) {', '.join(lacking)} that "
                               f"v{version} (@{action.alias}) is not served: shadow a version trained on the same features", key="deploy.shadow")  # fmt: skip
        shadow = ShadowRef(shadow_ref, list(shadow_inputs["features"]), dict(shadow_inputs.get("categories", {})))
    serving = ServingSpec.create(spec, ref, inputs, shadow)
    require_defaults(serving)
    directory = context_dir(spec, tag)
    with ExitStack() as stack:
        verified = stack.enter_context(verified_model(client, f"models:/{action.model}/{version}", tags))
        if spec.deploy.service.explain and ref.flavor != "lightgbm":  # which sklearn model: known once loaded
            from hydraops.serving.linear import final_estimator, is_linear

            loaded = verified.load()
            if not is_linear(loaded):
                raise ServingError(_refusal(action.model, version, type(final_estimator(loaded)).__name__), key="deploy.service.explain")
        shadow_dir = None
        if shadow is not None:
            shadow_dir = stack.enter_context(verified_model(client, f"models:/{action.model}/{shadow_version}", shadow_tags)).local
        return bundle.prepare_context(directory, serving, verified.local, tag, shadow_dir=shadow_dir, **options)


def context_dir(spec, tag: str) -> Path:
    """The build context of ``tag``, under ``paths.artifacts_dir`` (never outside it)."""
    from hydraops.paths import resolve_under

    return resolve_under(spec.paths.artifacts_dir, Path(CONTEXTS) / tag.replace(":", "-"), what=f"bundle {tag}", error=ServingError)


#: ``model`` options whose scikit-learn models are linear (explained exactly); ``sklearn`` is known once loaded.
LINEAR_OPTIONS = ("logistic_regression", "linear_regression")


def unexplainable(spec, model: str, version: str, flavor: str, option: str | None = None) -> str | None:
    """Why the version cannot be bundled under ``deploy.service.explain: true``, or None. hydraops explains
    LightGBM and linear models; ``option`` is the ``model`` option its run trained (the run's tag): a
    scikit-learn model of another option is refused here, one of no known option when it is loaded."""
    if not spec.deploy.service.explain or not flavor or flavor == "lightgbm":
        return None
    if option is None or option in LINEAR_OPTIONS or option == "sklearn":
        return None
    return _refusal(model, version, option)


def _refusal(model: str, version: str, kind: str) -> str:
    return (f"model {model} v{version} is a {kind} model, which hydraops does not explain (it explains LightGBM and linear models): "
            "set deploy.service.explain=false to serve it without explanations")  # fmt: skip


def _moves_before(earlier: tuple[Action, ...], alias: str) -> bool:
    """Whether an action planned before may move ``alias`` (a training run registers a version, moving no alias)."""
    for action in earlier:
        if action.effect is Effect.skip:
            continue
        if action.stage == "registry" and getattr(action, "passes", None) is not False:  # a planned rejection moves nothing
            moves = dict(getattr(action, "moves", ()))
            if alias in moves or getattr(action, "target", None) == alias:
                return True
    return False


def _nothing(required: bool, why: str, common: dict, *, error: type[Exception] = RegistryError, key: str = "deploy.alias") -> list[Action]:
    if required:
        raise error(why, key=key)
    return [BuildBundle(effect=Effect.skip, version=None, run_id=None, tag=None, **common, notes=(why,))]


def _no_shadow(model: str, where: str, shadow: str, aliases: dict[str, str]) -> str:
    known = ", ".join(f"{a} → v{v}" for a, v in sorted(aliases.items())) or "none"
    return (f"model '{model}' in the registry {where} has no alias '{shadow}' to shadow (deploy.shadow; aliases: {known}): "
            "promote a challenger first, or set deploy.shadow=null")  # fmt: skip


def _resolve(client, model: str, alias: str, *, required: bool = True, key: str = "deploy.alias") -> str | None:
    """The version ``alias`` points to; None (or RegistryError when ``required``) when it points to none."""
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(model, alias).version)
    except MlflowException:
        if not required:
            return None
        raise RegistryError(f"model '{model}' has no alias '{alias}' ({key}): promote a version first", key=key) from None


__all__ = ["BuildBundle", "build_bundle", "context_dir", "plan", "write_context"]
