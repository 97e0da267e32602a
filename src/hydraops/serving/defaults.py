"""The ``default`` missing policy: ``deploy.service.defaults`` declares, per looked-up feature, the value served
when its stored value is missing or expired. The value takes the place of the missing one; the feature's status
stays ``missing`` or ``expired`` (in the response and in ``/metrics``).

    default_findings(spec)          # validate: each default names a looked-up feature and passes its checks
    require_defaults(serving)       # build and score: every looked-up input of the model has a default
    with_defaults(serving, values, statuses)   # serve: the declared value where a lookup found none
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from hydraops.errors import ServingError

if TYPE_CHECKING:
    from hydraops.config.schemas import ProjectSpec
    from hydraops.serving.spec import ServingSpec

KEY = "deploy.service.defaults"
UNSERVED = ("missing", "expired")  # the lookup statuses a default replaces


def default_findings(spec: ProjectSpec) -> Iterator[tuple[str, str]]:
    """(key, message) for each declared default that names no looked-up feature or breaks the feature's dtype
    or checks, and, under ``missing: default``, for each looked-up input of the model without one."""
    from hydraops.config.schemas.lifecycle import MissingPolicy
    from hydraops.serving.spec import _declared_fields
    from hydraops.serving.validation import check_value

    service = spec.deploy.service
    declared = {name: f for name, f in _declared_fields(spec).items() if f.view is not None}
    for name, value in service.defaults.items():
        if name not in declared:
            known = ", ".join(sorted(declared)) or "(none declared)"
            yield f"{KEY}.{name}", f"'{name}' is not a feature of a feature view (only looked-up features take a default); known: {known}"
            continue
        for constraint, message in check_value(declared[name], value):
            yield f"{KEY}.{name}", f"the default {value!r} breaks the declared {constraint}: {message}"
    if service.missing is MissingPolicy.default and service.online_features:
        inputs = list(spec.model.features) or spec.features.feature_names()
        lacking = [name for name in inputs if name in declared and name not in service.defaults]
        if lacking:
            yield KEY, _lacking(lacking)


def require_defaults(serving: ServingSpec) -> None:
    """Under ``missing: default``, a ServingError naming the model's looked-up inputs that have no default."""
    if serving.service.get("missing") != "default" or not serving.service.get("online_features", True):
        return
    defaults = serving.service.get("defaults") or {}
    lacking = [name for view in serving.views for name in view.features if name not in defaults]
    if lacking:
        raise ServingError(_lacking(lacking), key=KEY)


def with_defaults(serving: ServingSpec, values: list[dict[str, Any]], statuses: list[dict[str, str]]) -> list[dict[str, Any]]:
    """``values`` with each looked-up feature whose status is missing or expired replaced by its default."""
    looks_up = serving.service.get("online_features", True)  # without lookups nothing is missing from the store
    defaults = (serving.service.get("defaults") or {}) if looks_up else {}
    looked_up = {name for view in serving.views for name in view.features if name in defaults}
    return [
        {name: defaults[name] if name in looked_up and status[name] in UNSERVED else value for name, value in row.items()}
        for row, status in zip(values, statuses)
    ]


def _lacking(names: list[str]) -> str:
    return (f"deploy.service.missing is 'default' but the looked-up feature(s) {', '.join(names)} have no default: "
            f"declare {KEY}.<feature> for each (or choose missing: null or reject)")  # fmt: skip


__all__ = ["default_findings", "require_defaults", "with_defaults"]
