"""The train stage: one tracked run of the declared model on the training table, registered as a new version.

Its inputs are named by one digest (``inputs_digest``): the config as the run logs it, each feature view's
version and the label files' sha256. ``hydraops apply`` skips the run when a finished run already trained
those inputs and registered a version; ``hydraops train`` always trains.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import ClassVar

from hydraops.config.secrets import redact_url
from hydraops.errors import FeatureStoreError
from hydraops.plan.context import RunContext
from hydraops.plan.model import Action, Effect, Outcome, Result
from hydraops.tracking import tags as T


@dataclass(frozen=True, kw_only=True)
class TrainRun(Action):
    """Fit ``model`` on the training table of these inputs, log the run in ``experiment``, register a version."""

    stage: ClassVar[str] = "train"
    model: str
    experiment: str
    registered_model: str
    inputs_digest: str
    tracking: str = ""

    @property
    def name(self) -> str:
        return f"run {self.model} in MLflow experiment {self.experiment}, register a new version of {self.registered_model}"

    @property
    def outputs(self) -> tuple[str, ...]:
        return (self.tracking,)


#: What one training run plans: the views it reads made current offline (no push online), then the run, always.
RUN_STAGES = ("features", "train")
RUN_OPTIONS = {"features": {"online": False}, "train": {"always": True}}


def plan(spec, ctx: RunContext, *, earlier: tuple[Action, ...] = (), always: bool = False) -> list[Action]:
    """One TrainRun: ``create``, or ``skip`` (unless ``always``) when a finished run with the same inputs
    registered a version. Nothing when the project declares no labels."""
    if spec.features.labels is None:
        return []
    labels, split, model = spec.features.labels, spec.split, spec.model
    features = list(model.features) or spec.features.feature_names()
    notes = (
        f"model {model.name} ({model.task.value}), {len(features)} features, target {labels.target}",
        f"training table: {labels.source} + {len(spec.features.views)} views",
        f"split {split.method.value}: valid {split.valid_fraction:g}, test {split.test_fraction:g}, gap {split.gap}",
        f"metrics: {', '.join(spec.evaluate.metrics)}; slices: {', '.join(spec.evaluate.slices) or 'none'}",
    ) + ((f"debug: at most {spec.debug.max_rows} rows, {spec.debug.max_rounds} rounds",) if spec.debug else ())
    try:
        digest = inputs_digest(spec, ctx.config_digest)
    except FeatureStoreError as error:  # no data yet: the data and features stages say what is missing
        digest, notes = "", (f"inputs not readable yet: {error}".splitlines()[0], *notes)
    action = dict(model=model.name, experiment=spec.project, registered_model=spec.registry.name, inputs_digest=digest,
                  tracking=redact_url(spec.stack.tracking_uri))  # fmt: skip
    if not digest:  # it cannot train: apply stops here with the same reason
        return [TrainRun(effect=Effect.check, **action, notes=notes)]
    done = None if always else _trained(ctx, spec.project, digest)
    if done is not None:
        return [TrainRun(effect=Effect.skip, **action, notes=(done, *notes))]
    return [TrainRun(effect=Effect.create, **action, notes=notes)]


def train_run(action: TrainRun, ctx: RunContext) -> Result:
    """Train, track and register; the Result's value is the TrainResult. A run planned as a check (its inputs
    could not be read) fails with the plan's reason."""
    from hydraops.training.run import train

    if action.effect is Effect.check:
        raise FeatureStoreError(f"cannot train: {action.notes[0]}")

    result = train(ctx.spec, ctx, inputs_digest=action.inputs_digest or None)
    return Result(action, Outcome.done, f"run {result.run_id}: {result.registered_model} version {result.version}", result)


def inputs_digest(spec, config_digest: str) -> str:
    """sha256 of what a run is trained from: the config digest, each view's version, the label files' sha256
    (a query labels source: the files of the sources it reads; its query text is in the config digest)."""
    from hydraops.features.repo import FeatureRepo

    repo = FeatureRepo.from_spec(spec)
    views = {name: repo.version(name) for name in spec.features.views}
    labels = sorted(repo.source_digests(spec.features.labels.source).values())
    text = json.dumps({"config": config_digest, "views": views, "labels": labels}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _trained(ctx: RunContext, experiment: str, digest: str) -> str | None:
    """``run X already trained these inputs (version N)`` when a finished run with this digest registered a version."""
    if ctx.tracking.missing_store() is not None:
        return None
    reader = ctx.tracking.reader()
    found = reader.experiment_id(experiment)
    if found is None:
        return None
    for run in reader.runs(found, tags={T.INPUTS_DIGEST: digest}, status="FINISHED", max_results=20):
        versions = reader.versions(run_id=run.run_id)
        if versions:
            return f"up to date: run {run.run_id} trained these inputs (version {versions[0].version})"
    return None


__all__ = ["RUN_OPTIONS", "RUN_STAGES", "TrainRun", "inputs_digest", "plan", "train_run"]
