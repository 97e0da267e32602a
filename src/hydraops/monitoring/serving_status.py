"""Feature-status rates of served rows (prediction log only): per feature, the share of rows whose online lookup
was ``missing`` (no stored row for the entity) or ``expired`` (older than the view's TTL), against
``monitor.feature_status`` (``max_missing``, ``max_expired``). The share is of the rows with a status for the
feature (a version that did not take the feature logs none); a share above its maximum is a violation
``feature_missing`` / ``feature_expired``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hydraops.config.schemas import MonitorSpec

LIMITED = (("missing", "feature_missing"), ("expired", "feature_expired"))


@dataclass(frozen=True)
class StatusRate:
    feature: str
    rows: int  # rows with a status for the feature
    missing: float  # share of them
    expired: float


def status_rates(counts: Mapping[str, Mapping[str, int]]) -> list[StatusRate]:
    """``counts`` (feature -> status -> rows) as shares."""
    rates = []
    for feature, by_status in counts.items():
        rows = sum(by_status.values())
        share = {status: by_status.get(status, 0) / rows if rows else 0.0 for status, _ in LIMITED}
        rates.append(StatusRate(feature, rows, share["missing"], share["expired"]))
    return rates


def status_breaches(rates: list[StatusRate], monitor: MonitorSpec) -> list[tuple[str, str, float, float, str]]:
    """``(check, feature, share, maximum, config key)`` of each rate above its maximum."""
    found = []
    for rate in rates:
        for status, check in LIMITED:
            maximum = getattr(monitor.feature_status, f"max_{status}")
            if rate.rows and getattr(rate, status) > maximum:
                found.append((check, rate.feature, getattr(rate, status), maximum, f"monitor.feature_status.max_{status}"))
    return found


__all__ = ["StatusRate", "status_breaches", "status_rates"]
