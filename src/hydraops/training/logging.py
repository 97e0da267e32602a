"""What a training run logs beside its model and metrics: the config it ran with, the model's inputs (what a
bundle serves), and the reference profile that monitoring compares current data with."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydraops.config.secrets import Redactor
from hydraops.training.reproduce import OVERRIDES_ARTIFACT

if TYPE_CHECKING:
    from hydraops.config.schemas import ProjectSpec
    from hydraops.monitoring.profile import Profile
    from hydraops.training.run import Prepared


def log_model_inputs(client, run_id: str, prepared: Prepared) -> None:
    """``model_inputs.json``: the inputs in model order, each categorical's training levels and, for a linear
    model, its mean encoded training row (``background``: what its explanations are relative to)."""
    from hydraops.serving.linear import background

    x_train = prepared.parts["train"][0]
    inputs = {"features": prepared.features, "categories": prepared.levels}
    mean = background(prepared.estimator, x_train) if len(x_train) else None
    client.log_dict(run_id, inputs if mean is None else {**inputs, "background": mean}, "model_inputs.json")


def log_config(client, run_id: str, resolved: Mapping[str, Any], config_yaml: str, overrides_text: str,
                hydra_dir: Path | None, redactor: Redactor) -> None:  # fmt: skip
    from mlflow.entities import Param

    from hydraops.tracking.params import OVERFLOW_ARTIFACT, flatten, split_params

    short, long = split_params(flatten(resolved))
    items = [Param(key, value) for key, value in short.items()]
    for start in range(0, len(items), 100):
        client.log_batch(run_id, params=items[start : start + 100])
    if long:
        client.log_dict(run_id, long, OVERFLOW_ARTIFACT)
    client.log_text(run_id, config_yaml, "config/config.yaml")
    client.log_text(run_id, overrides_text, OVERRIDES_ARTIFACT)
    if hydra_dir is not None and hydra_dir.is_dir():  # Hydra's own copies, unresolved: URL passwords, copied env
        for path in sorted(p for p in hydra_dir.iterdir() if p.is_file()):
            client.log_text(run_id, redactor.text(path.read_text()), f"config/.hydra/{path.name}")


def log_reference_profile(client, run_id: str, spec: ProjectSpec, prepared: Prepared, metrics: Mapping[str, float]) -> Profile:
    """Log ``reference_profile.json`` (:func:`reference_profile`) in the run."""
    from hydraops.monitoring.profile import ARTIFACT

    profile = reference_profile(spec, prepared, metrics)
    client.log_text(run_id, profile.to_json(), ARTIFACT)
    return profile


def reference_profile(spec: ProjectSpec, prepared: Prepared, metrics: Mapping[str, float]) -> Profile:
    """The profile of the train split's features (as in the training table), of the fitted model's predictions
    on the validation split (the test split when there is no validation split) and of the test metrics."""
    import pandas as pd

    from hydraops.monitoring.profile import PREDICTION, build_profile
    from hydraops.training.evaluate import predict_scores

    split = next((name for name in ("valid", "test") if len(prepared.parts[name][0])), None)
    predictions = None
    if split is not None:
        scores = predict_scores(prepared.estimator, prepared.parts[split][0], spec.model.task)
        predictions = pd.DataFrame({PREDICTION: scores})
    test = {key.removeprefix("test."): value for key, value in metrics.items() if key.startswith("test.")}
    return build_profile(prepared.frames["train"][prepared.features], predictions, test)


__all__ = ["log_config", "log_reference_profile", "reference_profile"]
