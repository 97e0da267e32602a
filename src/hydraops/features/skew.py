"""Training/serving skew: online values against the offline point-in-time values at the same instant."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from hydraops.features.historical import get_historical_features
from hydraops.features.repo import FeatureRepo


@dataclass(frozen=True)
class FeatureSkew:
    feature: str
    compared: int
    mismatches: int
    examples: list[tuple[Any, Any, Any]] = field(default_factory=list)  # (key, online, offline)


def check_skew(repo: FeatureRepo, online, sample: int = 100) -> list[FeatureSkew]:
    """For up to ``sample`` stored entities per view: the online value (TTL enforced at the store's
    as-of instant) against the offline value as of that same instant, feature by feature."""
    import pandas as pd

    from hydraops.features.online import get_online_features

    results = []
    for name, view in repo.features.views.items():
        as_of = online.as_of(name)
        keys = online.keys(name, sample) if as_of is not None else []
        names = view.feature_names()
        if not keys:
            results += [FeatureSkew(feature, 0, 0) for feature in names]
            continue
        join_keys = repo.join_keys(name)
        rows = [dict(zip(join_keys, key, strict=True)) for key in keys]
        served = get_online_features(repo.features, online, rows, feature_names=names, now=as_of)
        entity_df = pd.DataFrame(rows).assign(__as_of=pd.Timestamp(as_of))
        offline = get_historical_features(repo, entity_df, timestamp_column="__as_of", features=names).frame
        for feature in names:
            pairs = [(key, s.values[feature], _plain(o)) for key, s, o in zip(keys, served, offline[feature], strict=True)]
            bad = [pair for pair in pairs if not _same(pair[1], pair[2])]
            results.append(FeatureSkew(feature, len(pairs), len(bad), bad[:3]))
    return results


def _plain(value: Any) -> Any:
    if value is None:
        return None
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value.item() if hasattr(value, "item") else value


def _same(online: Any, offline: Any) -> bool:
    if online is None or offline is None:
        return online is None and offline is None
    if isinstance(online, float) or isinstance(offline, float):
        return math.isclose(float(online), float(offline), rel_tol=1e-9, abs_tol=1e-12)
    return online == offline
