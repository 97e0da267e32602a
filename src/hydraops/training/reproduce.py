"""``hydraops reproduce RUN_ID``: run again from the recorded overrides and say what, if anything, differs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from hydraops.tracking.runs import TrackingError

#: Set while reproducing: the new run is tagged with the run it reproduces.
REPRODUCES_ENV = "HYDRAOPS_REPRODUCES"
REPRODUCES_TAG = "hydraops.reproduces"


@dataclass(frozen=True)
class Comparison:
    """The original run against its reproduction."""

    original: str
    reproduction: str
    model_identical: bool
    metrics_equal: bool
    warnings: list[str] = field(default_factory=list)
    metric_differences: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)

    @property
    def reproduced(self) -> bool:
        return self.model_identical and self.metrics_equal


def recorded_overrides(run_id: str) -> list[str]:
    """The command-line overrides the run was started with (its ``config/overrides.json``)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="config/overrides.json")
    except MlflowException as error:
        raise TrackingError(f"run {run_id}: no recorded overrides (config/overrides.json) to reproduce it from: {error.message}") from error
    return list(json.loads(Path(path).read_text()))


def compare(original_id: str) -> Comparison:
    """Compare ``original_id`` with its latest reproduction: model sha256, metrics, code, config, data."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    original = client.get_run(original_id)
    found = client.search_runs(
        [original.info.experiment_id], f"tags.`{REPRODUCES_TAG}` = '{original_id}'", order_by=["start_time DESC"], max_results=1
    )
    if not found:
        raise TrackingError(f"run {original_id} has no reproduction yet")
    new = found[0]
    old_tags, new_tags = original.data.tags, new.data.tags
    warnings = []
    if old_tags.get("git.commit") != new_tags.get("git.commit"):
        warnings.append(f"different git commit: {old_tags.get('git.commit')} → {new_tags.get('git.commit')}")
    if new_tags.get("git.dirty") == "true":
        warnings.append("the working tree has uncommitted changes")
    if old_tags.get("hydraops.config_digest") != new_tags.get("hydraops.config_digest"):
        warnings.append("the resolved config differs (the project's conf/ changed since)")
    for key in sorted(k for k in old_tags if k.startswith(("data.", "features.", "hydraops.training_table"))):
        if old_tags[key] != new_tags.get(key):
            warnings.append(f"different data: {key} {old_tags[key][:12]} → {str(new_tags.get(key))[:12]}")
    old_metrics, new_metrics = original.data.metrics, new.data.metrics
    differences = {
        k: (old_metrics.get(k), new_metrics.get(k))
        for k in sorted(set(old_metrics) | set(new_metrics))
        if old_metrics.get(k) != new_metrics.get(k)
    }
    identical = old_tags.get("hydraops.model_sha256") == new_tags.get("hydraops.model_sha256") is not None
    return Comparison(original_id, new.info.run_id, identical, not differences, warnings, differences)
