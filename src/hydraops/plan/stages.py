"""The stage planners: each turns the typed spec into the Actions of its stage.

A stage joins this table when its engine lands, so ``plan`` never shows what nothing can apply.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable

from hydraops.config.schemas import ProjectSpec
from hydraops.config.secrets import redact_url
from hydraops.plan.model import Action, Effect

StagePlanner = Callable[[ProjectSpec], list[Action]]


def plan_data(spec: ProjectSpec) -> list[Action]:
    """One check per declared source: which files it reads now, and what its declared schema is."""
    actions = []
    for name, source in spec.data.sources.items():
        columns = f"{len(source.columns)} declared columns" if source.columns else "no declared columns"
        if source.query is not None:
            actions.append(Action("data", f"source {name}", Effect.check, ("duckdb query",), (), (columns,)))
            continue
        pattern = os.path.join(spec.data.dir, source.path or "")
        files = sorted(glob.glob(pattern))
        if files:
            size = sum(os.path.getsize(path) for path in files)
            found = f"{len(files)} file{'s' if len(files) != 1 else ''}, {size / 1e6:.1f} MB"
        else:
            found = "no file matches yet: generate or copy the data first"
        details = (found, columns) + ((f"timestamp: {source.timestamp}",) if source.timestamp else ())
        actions.append(Action("data", f"source {name}", Effect.check, (pattern,), (), details))
    return actions


def plan_features(spec: ProjectSpec) -> list[Action]:
    """Per view: a new timeline version when its definition or source files changed, else nothing to do;
    then the push of latest values to the online store."""
    from hydraops.errors import FeatureStoreError
    from hydraops.features.offline import current_manifest, view_dir
    from hydraops.features.repo import FeatureRepo, view_feature_names

    repo = FeatureRepo.from_spec(spec)
    actions = []
    for name, view in spec.features.views.items():
        features = f"{len(view_feature_names(view))} features" + (f", ttl {view.ttl}" if view.ttl else "")
        try:
            version = repo.version(name)
        except FeatureStoreError as error:
            actions.append(Action("features", f"materialize {name}", Effect.check, (view.source,), (), (str(error),)))
            continue
        try:
            current = current_manifest(repo.offline_dir, name)
        except FeatureStoreError:  # CURRENT unreadable: materialize rebuilds the view
            current = None
        output = str(view_dir(repo.offline_dir, name) / "versions" / f"{version}-*")
        if current is not None and current.version == version:
            details = (f"version {version} is current ({current.rows:,} timeline rows)", features)
            actions.append(Action("features", f"materialize {name}", Effect.skip, (view.source,), (output,), details))
        else:
            was = f"replaces {current.version}" if current else "first version"
            details = (f"new version {version} ({was})", features)
            actions.append(Action("features", f"materialize {name}", Effect.create, (view.source,), (output,), details))
    if spec.features.views:
        store = spec.stack.online_store
        where = store.path if store.type.value == "sqlite" else redact_url(store.url) if store.url else store.url
        changed = any(action.effect is not Effect.skip for action in actions)
        stale = () if changed else _online_behind(spec, repo)
        effect = Effect.update if changed or stale else Effect.skip
        actions.append(Action("features", "push latest values online", effect, tuple(spec.features.views), (f"{store.type.value}: {where}",), stale))
    return actions


def _online_behind(spec: ProjectSpec, repo) -> tuple[str, ...]:  # noqa: ANN001 - FeatureRepo
    """Why ``materialize`` would push although no view changes: views whose online rows were not pushed
    from their CURRENT offline version, or an online store that cannot be read. Empty when in sync."""
    from hydraops.errors import FeatureStoreError
    from hydraops.features.offline import current_manifest
    from hydraops.features.online import read_pushed

    try:
        pushed = read_pushed(spec.stack.online_store, spec.project, list(spec.features.views))
        current = {name: current_manifest(repo.offline_dir, name) for name in spec.features.views}
    except FeatureStoreError as error:
        return (f"online store not read: {error}".splitlines()[0],)
    behind = [name for name, m in current.items() if m and (pushed[name] is None or pushed[name].version != m.folder)]
    return (f"the online store does not hold the current version of: {', '.join(behind)}",) if behind else ()


def plan_train(spec: ProjectSpec) -> list[Action]:
    """One tracked run of the declared model on the training table, then a new registered version."""
    if spec.features.labels is None:
        return []
    labels, split, model = spec.features.labels, spec.split, spec.model
    features = list(model.features) or spec.features.feature_names()
    details = (
        f"model {model.name} ({model.task.value}), {len(features)} features, target {labels.target}",
        f"split {split.method.value}: valid {split.valid_fraction:g}, test {split.test_fraction:g}, gap {split.gap}",
        f"metrics: {', '.join(spec.evaluate.metrics)}; slices: {', '.join(spec.evaluate.slices) or 'none'}",
    ) + ((f"debug: at most {spec.debug.max_rows} rows, {spec.debug.max_rounds} rounds",) if spec.debug else ())
    where = redact_url(spec.stack.tracking_uri)
    return [
        Action("train", f"run {model.name} in MLflow experiment {spec.project}", Effect.create,
               (f"training table: {labels.source} + {len(spec.features.views)} views",), (where,), details),
        Action("train", f"register a new version of model {spec.registry.name}", Effect.create,
               ("the run's model (no pickle, sha256 recorded)",), (redact_url(spec.stack.registry_uri or where),)),
    ]  # fmt: skip


def plan_registry(spec: ProjectSpec) -> list[Action]:
    """The promotion ``hydraops promote`` would carry out: the candidate, each gate, and (when the registry
    already has versions) today's decision about the current candidate, gate by gate."""
    from hydraops.registry.promote import describe_moves, preview
    from hydraops.tracking.handle import Tracking

    registry = spec.registry
    where = redact_url(spec.stack.registry_uri or spec.stack.tracking_uri)
    gates = ", ".join(str(gate.type) for gate in registry.gates) or "none"
    details = [f"candidate: {registry.candidate.strategy}; gates: {gates}"]
    details.append(f"on pass: {registry.on_pass}" + (" (the champion it replaces becomes previous)" if registry.on_pass == "champion" else ""))
    try:
        proposal = preview(spec, Tracking.of(spec.stack))
    except Exception as error:  # noqa: BLE001 - the plan reports what it could not read, and goes on
        details.append(f"registry not read: {error}".splitlines()[0])
        proposal = None
    effect = Effect.update
    if proposal is not None:
        if proposal.nothing_to_do:
            details.append(f"today: v{proposal.candidate.version} is already {proposal.target}")
        else:
            verdict = "would move " + describe_moves(proposal.moves) \
                if proposal.decision.passed else "would be rejected: nothing would move"
            details.append(f"today: v{proposal.candidate.version} ({proposal.candidate.why}) {verdict}")
            details += [f"  {gate}: {value} (threshold {threshold}) {verdict}" for gate, value, threshold, verdict in proposal.decision.table_rows()]
    elif spec.features.labels is None:
        effect = Effect.check
    inputs = (f"model {registry.name}: the version train registers" if spec.features.labels else f"model {registry.name}",)
    return [Action("registry", f"promote {registry.name} to {registry.on_pass}", effect, inputs, (where,), tuple(details))]


#: Stage name → planner, in lifecycle order.
STAGES: dict[str, StagePlanner] = {"data": plan_data, "features": plan_features, "train": plan_train, "registry": plan_registry}
