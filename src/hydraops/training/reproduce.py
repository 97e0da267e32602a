"""``hydraops reproduce RUN_ID``: run again from the recorded overrides and say what, if anything, differs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hydraops.errors import ConfigError, Problem, TrackingError
from hydraops.tracking import tags as T

#: The command-line overrides a run was started with (secrets redacted); the sha256 of that file is recorded
#: as a tag of the run when it starts (``hydraops.overrides_digest``): ``reproduce`` replays the file only if
#: it still has that digest.
OVERRIDES_ARTIFACT = "config/overrides.json"


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


def overrides_record(overrides: Sequence[str]) -> tuple[str, str]:
    """The text of ``config/overrides.json`` for ``overrides``, and its sha256 (the run's tag)."""
    text = json.dumps(list(overrides), indent=2)
    return text, hashlib.sha256(text.encode()).hexdigest()


def recorded_overrides(client, run_id: str) -> list[str]:
    """The command-line overrides the run was started with (its ``config/overrides.json``), once the file is
    shown to be the one the run recorded (its sha256 is the run's ``hydraops.overrides_digest``) and each entry
    to be an override of the task's config: no flag, no ``hydra.*`` setting, no sweep."""
    import tempfile

    from mlflow.exceptions import MlflowException

    source = f"run {run_id} {OVERRIDES_ARTIFACT}"
    try:
        recorded = client.get_run(run_id).data.tags.get(T.OVERRIDES_DIGEST)
        with tempfile.TemporaryDirectory(prefix="hydraops-overrides-") as scratch:
            text = Path(client.download_artifacts(run_id, OVERRIDES_ARTIFACT, scratch)).read_text()
    except MlflowException as error:
        raise TrackingError(f"run {run_id}: no recorded overrides ({OVERRIDES_ARTIFACT}) to reproduce it from: {error.message}") from error
    if recorded is None:
        raise _refused(source, f"the run has no {T.OVERRIDES_DIGEST} tag, so the file cannot be verified; not replayed")
    if hashlib.sha256(text.encode()).hexdigest() != recorded:
        raise _refused(source, f"the file does not match the run's {T.OVERRIDES_DIGEST} (it changed after the run); not replayed")
    try:
        overrides = json.loads(text)
    except ValueError:
        overrides = None
    if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
        raise _refused(source, "expected a JSON list of override strings; not replayed")
    problems = [problem for problem in map(_replay_problem, overrides) if problem]
    if problems:
        raise _refused(source, *problems)
    return overrides


def redacted_overrides(overrides: Sequence[str], given: Sequence[str]) -> list[str]:
    """Recorded overrides whose secret was redacted and that ``given`` (the command line) does not set again."""
    from hydraops.config.secrets import REDACTED

    keys = {arg.partition("=")[0].lstrip("+~") for arg in given}
    return [o for o in overrides if REDACTED in o and o.partition("=")[0].lstrip("+~") not in keys]


def _replay_problem(override: str) -> str | None:
    """Why ``override`` may not be replayed: only overrides of the task's config are ever recorded."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    if override.startswith("-"):
        return f"'{override}' is a flag, not an override; not replayed"
    try:
        parsed = OverridesParser.create().parse_overrides([override])[0]
    except HydraException as error:
        return f"'{override}' is not an override ({str(error).splitlines()[0]}); not replayed"
    key = parsed.key_or_group.lstrip("/")
    if parsed.is_hydra_override() or key == "hydra" or key.startswith(("hydra.", "hydra/")):
        return f"'{override}' sets Hydra's own settings, which a run never records; not replayed"
    if parsed.is_sweep_override():
        return f"'{override}' is a sweep, which a run never records; not replayed"
    return None


def _refused(source: str, *messages: str) -> ConfigError:
    return ConfigError([Problem("", source, message) for message in messages])


def compare(client, original_id: str) -> Comparison:
    """Compare ``original_id`` with its latest reproduction: model sha256, metrics, code, config, data."""
    original = client.get_run(original_id)
    found = client.search_runs([original.info.experiment_id], f"tags.`{T.REPRODUCES}` = '{original_id}'", order_by=["start_time DESC"], max_results=1)
    if not found:
        raise TrackingError(f"run {original_id} has no reproduction yet")
    new = found[0]
    old_tags, new_tags = original.data.tags, new.data.tags
    warnings = []
    if old_tags.get(T.SOURCE_GIT_COMMIT) != new_tags.get(T.SOURCE_GIT_COMMIT):
        warnings.append(f"different git commit: {old_tags.get(T.SOURCE_GIT_COMMIT)} → {new_tags.get(T.SOURCE_GIT_COMMIT)}")
    if new_tags.get(T.GIT_DIRTY) == "true":
        warnings.append("the working tree has uncommitted changes")
    if old_tags.get(T.CONFIG_DIGEST) != new_tags.get(T.CONFIG_DIGEST):
        warnings.append("the resolved config differs (the project's conf/ changed since)")
    for key in sorted(filter(T.is_data_lineage, old_tags)):
        if old_tags[key] != new_tags.get(key):
            warnings.append(f"different data: {key} {old_tags[key][:12]} → {str(new_tags.get(key))[:12]}")
    old_metrics, new_metrics = original.data.metrics, new.data.metrics
    differences = {k: (old_metrics.get(k), new_metrics.get(k)) for k in sorted(set(old_metrics) | set(new_metrics)) if old_metrics.get(k) != new_metrics.get(k)}
    identical = old_tags.get(T.MODEL_SHA256) == new_tags.get(T.MODEL_SHA256) is not None
    return Comparison(original_id, new.info.run_id, identical, not differences, warnings, differences)
