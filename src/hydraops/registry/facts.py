"""What the gates are told about a model version, read from MLflow: its run's metrics and data checks, its
files (sha256 and flavor checked, size), its approval tag, and its predict latency measured on its input example.

Reads go through a ``TrackingReader`` (``tracking.reading``; an ``MlflowClient`` passed instead is read through
``MlflowReader``); only checking and timing the model's files needs the client itself.

Which version is the candidate comes from ``registry.candidate``: the latest version (or, when that version
is a sweep's job, the version of that sweep's best child), the version of the best child of the last sweep,
or an explicit version.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

from hydraops.config.schemas.lifecycle import CandidateSpec, CandidateStrategy
from hydraops.errors import RegistryError
from hydraops.registry.gates import LOWER_IS_BETTER, ModelFacts
from hydraops.tracking import tags as T
from hydraops.tracking.model_load import VerifiedModel, verified_model
from hydraops.tracking.reading import MlflowReader, RunRecord, TrackingReader, VersionRecord, reading

LATENCY_CALLS = 200


@dataclass(frozen=True)
class Candidate:
    """The version considered, and why it was picked."""

    version: str
    run_id: str
    why: str


def pick_candidate(source, model: str, experiment: str, spec: CandidateSpec, version: int | None = None) -> Candidate:
    """The version ``registry.candidate`` (or an explicit ``version``) designates; RegistryError when there is none.
    ``source``: a TrackingReader or an MlflowClient."""
    reader = reading(source)
    versions = {v.version: v for v in reader.versions(model)}
    if not versions:
        raise RegistryError(f"registered model '{model}' has no versions yet: run `hydraops train` first")
    strategy = CandidateStrategy(spec.strategy)
    if version is None and strategy is CandidateStrategy.version:
        if spec.version is None:
            raise RegistryError("registry.candidate.version: required by strategy 'version' (or pass version=N)")
        version = spec.version
    if version is not None:
        if str(version) not in versions:
            known = ", ".join(sorted(versions, key=int))
            raise RegistryError(f"version={version}: model '{model}' has no such version; it has {known}")
        return Candidate(str(version), versions[str(version)].run_id, "explicit version")
    if strategy is CandidateStrategy.latest:
        return _latest(reader, model, versions, spec.metric)
    run_id, why = _best_child(reader, _last_sweep(reader, experiment), spec.metric)
    return Candidate(_version_of(model, versions, run_id), run_id, why)


def _latest(reader: TrackingReader, model: str, versions: dict[str, VersionRecord], metric: str | None) -> Candidate:
    """The latest version; when its run is a job of a sweep, the version of that sweep's best child instead
    (a sweep's jobs finish in any order: the last one registered is rarely the best)."""
    latest = max(versions, key=int)
    run_id = versions[latest].run_id
    parent = _sweep_of(reader, run_id)
    if parent is None:
        return Candidate(latest, run_id, "latest version")
    best, why = _best_child(reader, parent, metric)
    return Candidate(_version_of(model, versions, best), best, f"{why} (the latest version, v{latest}, is one of its jobs)")


def _sweep_of(reader: TrackingReader, run_id: str | None) -> RunRecord | None:
    """The sweep parent run that ``run_id`` is a job of, or None."""
    run = reader.run(run_id) if run_id else None
    parent_id = run.tags.get(T.PARENT_RUN) if run is not None else None
    parent = reader.run(parent_id) if parent_id else None
    return parent if parent is not None and parent.tags.get(T.SWEEP) == "true" else None


def _version_of(model: str, versions: dict[str, VersionRecord], run_id: str) -> str:
    """The newest version registered from ``run_id``."""
    matching = [v for v in versions.values() if v.run_id == run_id]
    if not matching:
        raise RegistryError(f"registry.candidate: the best child run {run_id} of the sweep registered no version of '{model}'")
    return max(matching, key=lambda v: int(v.version)).version


def _last_sweep(reader: TrackingReader, experiment: str) -> RunRecord:
    found = reader.experiment_id(experiment)
    sweeps = [] if found is None else reader.runs(found, tags={T.SWEEP: "true"}, max_results=1)
    if not sweeps:
        raise RegistryError(f"registry.candidate.strategy=best_child: no sweep in experiment '{experiment}'; run `hydraops train -m ...` first")
    return sweeps[0]


def _best_child(reader: TrackingReader, parent: RunRecord, metric: str | None) -> tuple[str, str]:
    """The best child of the sweep ``parent``: the one it tags, or the best by ``metric`` among its finished children."""
    if metric is None:
        best = parent.tags.get(T.BEST_CHILD)
        if best is None:
            raise RegistryError(
                f"registry.candidate: sweep {parent.run_id} ({parent.status}) has no best child: is it still running,"
                " or did every job fail? Pass version=N to promote one of its versions"
            )
        return best, f"best child of sweep {parent.run_id}"
    children = reader.runs(parent.experiment_id, tags={T.PARENT_RUN: parent.run_id}, max_results=10_000)
    scored = [r for r in children if r.status == "FINISHED" and not math.isnan(r.metrics.get(metric, math.nan))]
    if not scored:
        raise RegistryError(f"registry.candidate.metric: no finished child of sweep {parent.run_id} has metric '{metric}'")
    lower = metric.rsplit(".", 1)[-1] in LOWER_IS_BETTER
    best = (min if lower else max)(scored, key=lambda r: r.metrics[metric])
    return best.run_id, f"best child of sweep {parent.run_id} by {metric}"


def version_facts(source, model: str, version: str, *, inspect_files: bool, measure_latency: bool = False) -> ModelFacts:
    """The gates' view of one version. ``inspect_files`` downloads the model and checks its sha256 and flavor
    (raising ModelIntegrityError on a mismatch) to give its size; ``measure_latency`` also loads it and times predict.
    ``source``: a TrackingReader or an MlflowClient (an MlflowReader or client when files are inspected)."""
    reader = reading(source)
    details = reader.version(model, version)
    if details is None:
        raise RegistryError(f"model '{model}' has no version {version}")
    run = reader.run(details.run_id) if details.run_id else None
    if run is None:
        raise RegistryError(f"model '{model}' v{version}: its run {details.run_id} is not in the tracking store")
    checks = run.tags.get(T.DATA_CHECKS)
    size_mb = latency = None
    if inspect_files:
        if not isinstance(reader, MlflowReader):
            raise TypeError("version_facts(inspect_files=True) downloads the model: pass an MlflowClient")
        client = reader.client
        with verified_model(client, f"models:/{model}/{version}", details.tags) as verified:
            size_mb = sum(p.stat().st_size for p in verified.local.rglob("*") if p.is_file()) / 1e6
            if measure_latency:
                latency = predict_latency_p99_ms(verified, _levels(client, details.run_id))
    return ModelFacts(
        version=str(version),
        metrics=dict(run.metrics),
        size_mb=size_mb,
        predict_latency_p99_ms=latency,
        data_checks_passed=None if checks is None else checks == "passed",
        approved=details.tags.get(T.APPROVED, "").lower() == "true",
    )


def predict_latency_p99_ms(model: VerifiedModel, levels: dict[str, list] | None, calls: int = LATENCY_CALLS) -> float:
    """p99 in ms of ``predict`` on the model's own input example, over ``calls`` calls after a warm-up."""
    import numpy as np

    from hydraops.training.estimators import prepare_features

    example = model.input_example()
    if example is None:
        raise RegistryError(f"model {model.uri} has no input example to time predict on (max_predict_latency_ms)")
    if levels is not None:
        example = prepare_features(example, levels)
    # The flavor's own model (LightGBM booster, scikit-learn estimator): it takes the prepared features.
    loaded = model.load()
    for _ in range(5):
        loaded.predict(example)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        loaded.predict(example)
        times.append((time.perf_counter() - start) * 1000)
    return float(np.percentile(times, 99))


def _levels(client, run_id: str) -> dict[str, list] | None:
    """The categorical levels the model was trained with (model_inputs.json), to prepare its example."""
    try:
        path = client.download_artifacts(run_id, "model_inputs.json")
    except Exception:  # noqa: BLE001 - a model logged without it takes its example as is
        return None
    return json.loads(Path(path).read_text()).get("categories")
