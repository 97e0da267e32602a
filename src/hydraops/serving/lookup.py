"""Online lookup for served rows, from the bundle's ``ViewLookup`` list (no project spec at serve time):
each row's features are the values it gives, else the latest stored value of its entity in the view,
with a status per feature: ``given``, ``present``, ``missing`` (nothing stored) or ``expired`` (older
than the view's TTL: ``now - feature_ts > ttl``, as ``hydraops.features.online`` enforces it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydraops.errors import FeatureStoreError
from hydraops.serving.problems import FieldError, invalid, unavailable
from hydraops.serving.spec import ServingSpec

if TYPE_CHECKING:
    import pandas as pd

    from hydraops.features.online import OnlineStore

GIVEN, PRESENT, MISSING, EXPIRED = "given", "present", "missing", "expired"


@dataclass(frozen=True)
class ServedRows:
    """Per row: every model input's value (None where missing or expired) and its status."""

    values: list[dict[str, Any]]
    statuses: list[dict[str, str]]


class OnlineFeatures:
    """The bundle's online store, opened read-only (a SQLite file is never created, Redis with a short
    timeout); ``url`` (from the serving machine, e.g. with credentials) replaces the declared Redis URL or
    SQLite path. Reopened on the next use when it was unreachable."""

    def __init__(self, spec: ServingSpec, url: str | None = None):
        self.spec = spec
        self.declared = dict(spec.online_store)
        if url:
            self.declared["url" if self.declared.get("type") == "redis" else "path"] = url
        self.needed = bool(spec.views) and bool(spec.service.get("online_features", True))
        self._store: OnlineStore | None = None

    def store(self) -> OnlineStore:
        """The open store; a 503 problem naming why it cannot be reached."""
        if self._store is None:
            from hydraops.config.schemas import OnlineStoreType
            from hydraops.features.online import ONLINE_STORES

            try:
                kind = OnlineStoreType(self.declared.get("type"))
                typed = ONLINE_STORES[kind](**{**self.declared, "type": kind})
                self._store = typed.open_read_only(self.spec.project)
            except (FeatureStoreError, ValueError, TypeError, OSError) as error:
                raise unavailable(f"the online store ({self.declared.get('type')}) cannot be opened: {error}") from None
            if self._store is None:
                raise unavailable(f"the online store file {self.declared.get('path')} does not exist (materialize the features first)")
        return self._store

    def check(self) -> str | None:
        """None when the store answers (a SQLite file still there, Redis reachable); else why not."""
        if not self.needed:
            return None
        try:
            store = self.store()
            if self.declared.get("type") == "sqlite" and not Path(str(self.declared.get("path"))).is_file():
                self.close()
                return f"the online store file {self.declared.get('path')} is gone"
            store.pushed(self.spec.views[0].name)
        except Exception as error:  # noqa: BLE001 - any failure of the probe is the reason given
            self.close()
            return getattr(error, "detail", None) or f"the online store does not answer: {error}"
        return None

    def serve(self, rows: list[dict[str, Any]], now: datetime | None = None) -> ServedRows:
        """Each row's model inputs and their statuses, one ``read`` per view for the rows that need it."""
        now = now or datetime.now(UTC)
        names = self.spec.feature_names
        values = [{name: row.get(name) for name in names} for row in rows]
        statuses = [{name: GIVEN if name in row else MISSING for name in names} for row in rows]
        if not self.needed:
            return ServedRows(values, statuses)
        for view in self.spec.views:
            wanted = [i for i, row in enumerate(rows) if any(name not in row for name in view.features)]
            if not wanted:
                continue
            keys = [tuple(rows[i][key] for key in view.join_keys) for i in wanted]
            try:
                found = self.store().read(view.name, keys)
            except FeatureStoreError as error:
                self.close()
                raise unavailable(f"the online store does not answer: {error}") from None
            for i, stored in zip(wanted, found):
                for name in view.features:
                    if name in rows[i]:
                        continue
                    status = _status(stored, name, view.ttl_seconds, now)
                    statuses[i][name] = status
                    values[i][name] = stored.values[name] if status == PRESENT else None
        return ServedRows(values, statuses)

    def close(self) -> None:
        if self._store is not None:
            try:
                self._store.close()
            finally:
                self._store = None


def apply_missing_policy(spec: ServingSpec, served: ServedRows) -> ServedRows:
    """The rows as the model gets them under ``deploy.service.missing``: ``reject`` refuses them (422, see
    :func:`refuse_missing`), ``null`` serves null, ``default`` the declared default (``serving.defaults``);
    the statuses stay what the lookup found."""
    policy = spec.service.get("missing", "reject")
    if policy == "reject":
        refuse_missing(spec, served)
    elif policy == "default":
        from hydraops.serving.defaults import with_defaults

        return ServedRows(with_defaults(spec, served.values, served.statuses), served.statuses)
    return served


def refuse_missing(spec: ServingSpec, served: ServedRows) -> None:
    """Under ``deploy.service.missing: reject``, a 422 problem naming every looked-up feature that is
    missing or expired; under ``null`` they are served as null (the model's missing value)."""
    if spec.service.get("missing", "reject") != "reject":
        return
    ttl = {name: view.ttl_seconds for view in spec.views for name in view.features}
    errors = []
    for index, statuses in enumerate(served.statuses):
        for name, status in statuses.items():
            if status == MISSING and name in ttl:
                errors.append(FieldError(index, name, "missing=reject", f"no stored value of '{name}' for the row's entity (give it, or materialize)"))
            elif status == EXPIRED:
                errors.append(FieldError(index, name, f"ttl={ttl[name]:g}s", f"the stored value of '{name}' is older than its view's TTL of {ttl[name]:g} s"))
    if errors:
        raise invalid(errors)


def model_frame(spec: ServingSpec, values: list[dict[str, Any]]) -> pd.DataFrame:
    """The rows as the model's input frame: categorical inputs as objects (the Predictor maps them to the
    training levels), every other input as float64 with null → NaN."""
    import numpy as np
    import pandas as pd

    columns = {}
    for name in spec.feature_names:
        column = [row[name] for row in values]
        if name in spec.categories:
            columns[name] = pd.Series(column, dtype=object)
        else:
            columns[name] = np.array([np.nan if v is None else v for v in column], dtype=float)
    return pd.DataFrame(columns)


def _status(stored: Any, name: str, ttl_seconds: float | None, now: datetime) -> str:
    if stored is None or name not in stored.values:
        return MISSING
    if stored.feature_ts is None or ttl_seconds is None:  # a static view, or no TTL: never expires
        return PRESENT
    return EXPIRED if (now - stored.feature_ts).total_seconds() > ttl_seconds else PRESENT
