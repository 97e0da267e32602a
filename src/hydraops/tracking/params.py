"""A resolved config as MLflow params: flattened dotted keys; values too long for MLflow go to an artifact."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

#: MLflow refuses longer param values (mlflow.utils.validation.MAX_PARAM_VAL_LENGTH).
MAX_PARAM_LENGTH = 6000
OVERFLOW_ARTIFACT = "params_overflow.json"


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"model": {"num_leaves": 31}}`` → ``{"model.num_leaves": "31"}``; lists stay whole, as JSON."""
    flat: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value if isinstance(value, str) else json.dumps(value, default=str)
    return flat


def split_params(flat: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(params MLflow accepts, params too long for it); the long ones are logged as an artifact instead."""
    short = {k: v for k, v in flat.items() if len(v) <= MAX_PARAM_LENGTH}
    long = {k: v for k, v in flat.items() if len(v) > MAX_PARAM_LENGTH}
    short.update({k: f"<{len(v)} characters: see artifact {OVERFLOW_ARTIFACT}>" for k, v in long.items()})
    return short, long
