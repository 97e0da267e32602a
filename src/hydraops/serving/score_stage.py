"""The score stage: one file scored in batch by the version a registry alias designates (``hydraops score``).

Planning reads the alias and the version's tags through ``Tracking.reader`` (no model is fetched); the handler
fetches the version's model checked against its sha256 (``tracking.model_load.verified_model``), builds its
ServingSpec from the run's ``model_inputs.json`` and scores with ``serving.score.score_file``. The stage plans
nothing without an input, so ``hydraops apply`` never scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from hydraops.config.schemas.lifecycle import OnInvalid
from hydraops.errors import ServingError
from hydraops.plan.context import RunContext
from hydraops.plan.model import Action, Effect, Outcome, Result
from hydraops.tracking import tags as T
from hydraops.tracking.reading import designated_version


@dataclass(frozen=True, kw_only=True)
class ScoreBatch(Action):
    """Score ``input`` into ``output`` with version ``version`` of ``model`` (designated by ``alias`` when planned)."""

    stage: ClassVar[str] = "score"
    input: Path
    output: Path
    model: str
    version: str
    run_id: str
    alias: str | None = None
    timestamp: str | None = None
    chunk_rows: int = 100_000
    explain: bool = False
    on_invalid: OnInvalid = OnInvalid.fail

    @property
    def name(self) -> str:
        return f"score {self.input} with {self.model} v{self.version}"

    @property
    def inputs(self) -> tuple[str, ...]:
        via = f" ({self.alias})" if self.alias else ""
        return (str(self.input), f"models:/{self.model}/{self.version}{via}, run {self.run_id}")

    @property
    def outputs(self) -> tuple[str, ...]:
        return (str(self.output),)


def plan(spec, ctx: RunContext, *, earlier: tuple[Action, ...] = (), input: Path | None = None, output: Path | None = None,
         alias: str | None = None, version: int | None = None, timestamp: str | None = None, chunk_rows: int | None = None,
         explain: bool = False, on_invalid: OnInvalid | str | None = None) -> list[Action]:  # fmt: skip
    """One ScoreBatch when an input is given (none otherwise: ``apply`` scores nothing). The version is ``version``
    or the one ``alias`` (default ``deploy.alias``) designates; ServingError (exit 2) naming the alias when it
    designates none."""
    if input is None:
        return []
    from hydraops.serving.score import require_input

    require_input(Path(input))  # before the registry is asked: a mistyped path fails at once
    batch = spec.deploy.batch
    if output is None:
        if batch is None:
            raise ServingError("score needs output=PATH (or a deploy.batch.output: deploy=batch)", key="output")
        output = Path(batch.output)
    output = Path(output)
    if output.suffix.lower() not in (".parquet", ".pq"):  # a folder: one file per input, named after it
        output = output / f"{Path(input).stem}.parquet"
    name, alias = spec.registry.name, alias or (None if version is not None else spec.deploy.alias)
    found = designated_version(ctx.tracking, name, alias, version, ServingError)
    tags = found.tags
    if explain and tags.get(T.FLAVOR) != "lightgbm":  # a linear model is explained; another is known by its run's option, or once loaded
        from hydraops.serving.stage import LINEAR_OPTIONS

        run = ctx.tracking.reader().run(found.run_id) if found.run_id else None
        option = run.tags.get(T.MODEL) if run else None
        if option not in (None, "sklearn", *LINEAR_OPTIONS):
            raise ServingError(f"explain=true: {name} v{found.version} is a {option} model; hydraops explains LightGBM and linear models", key="explain")
    labels = spec.features.labels
    notes = (f"model sha256 {tags.get(T.MODEL_SHA256, '?')[:12]}…", f"chunks of {chunk_rows or (batch.chunk_rows if batch else 100_000):,} rows")
    return [ScoreBatch(
        effect=Effect.create, input=Path(input), output=output, model=name, version=found.version, run_id=found.run_id or "",
        alias=alias, timestamp=timestamp or (labels.timestamp if labels is not None else None),
        chunk_rows=chunk_rows or (batch.chunk_rows if batch else 100_000), explain=explain,
        on_invalid=OnInvalid(on_invalid or (batch.on_invalid if batch else OnInvalid.fail)), notes=notes,
    )]  # fmt: skip


def score_batch(action: ScoreBatch, ctx: RunContext) -> Result:
    """Fetch the version's model (sha256 checked), build its ServingSpec, score the file; the Result's value is
    the ScoreReport."""
    import hydraops
    from hydraops.features.repo import FeatureRepo
    from hydraops.serving.defaults import require_defaults
    from hydraops.serving.predictor import Predictor
    from hydraops.serving.score import ScoreOptions, score_file
    from hydraops.serving.spec import ServingSpec, registered
    from hydraops.tracking.model_load import verified_model

    client = ctx.tracking.client
    ref, inputs, tags = registered(client, action.model, action.version, action.alias)
    serving = ServingSpec.create(ctx.spec, ref, inputs)
    require_defaults(serving)
    metadata = {"model.name": ref.name, "model.version": ref.version, "model.run_id": ref.run_id, "model.sha256": ref.sha256,
                "model.flavor": ref.flavor, "version": hydraops.__version__}  # fmt: skip
    options = ScoreOptions(action.chunk_rows, action.timestamp, action.explain, action.on_invalid)
    repo = FeatureRepo.from_spec(ctx.spec) if ctx.spec.features.views else None
    with verified_model(client, f"models:/{action.model}/{action.version}", tags) as verified:
        report = score_file(Predictor(serving, verified.local), action.input, action.output, options, repo=repo, metadata=metadata)
    summary = f"{report.written:,} of {report.rows:,} rows scored → {report.output} ({report.row_groups} row group(s))"
    if report.looked_up:
        summary += f"; {len(report.looked_up)} feature(s) looked up point in time in the offline store"
    if report.skipped:
        summary += f"; {report.skipped_rows:,} rows skipped (on_invalid=skip): " + "; ".join(b.describe() for b in report.skipped)
    return Result(action, Outcome.done, summary, report)


__all__ = ["ScoreBatch", "plan", "score_batch"]
