"""The reference a monitoring judges against: by default the profile the version's training run logged
(``monitor.reference: training``); ``reference=PATH`` (or ``monitor.reference: PATH``) overrides it with a profile
JSON (``reference_profile.json``, as logged) or a parquet/CSV file of reference rows, profiled here with the
version's columns (its features and predictions) and its test metrics."""

from __future__ import annotations

from pathlib import Path

from hydraops.errors import MonitoringError
from hydraops.monitoring.profile import Profile, build_profile

TRAINING = "training"  # monitor.reference: the version's own profile


def reference_from(path: Path, like: Profile) -> Profile:
    """The profile in ``path`` (JSON), or of the rows in ``path`` (parquet/CSV: ``like``'s columns, which it must have)."""
    if not path.is_file():
        raise MonitoringError(f"reference={path}: no such file (a reference_profile.json, or a parquet or CSV file of reference rows)",
                              key="reference", path=str(path))  # fmt: skip
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            return Profile.from_json(path.read_text())
        except (ValueError, KeyError, TypeError) as error:
            raise MonitoringError(f"reference={path}: not a reference profile ({error})", key="reference", path=str(path)) from None
    frame = _read(path, suffix, [*like.features, *like.predictions])
    missing = [name for name in like.features if name not in frame.columns]
    if missing:
        raise MonitoringError(f"reference={path}: no column {', '.join(map(repr, missing))} of the model's features; it has: {', '.join(frame.columns)}",
                              key="reference", path=str(path), column=missing[0])  # fmt: skip
    predictions = [name for name in like.predictions if name in frame.columns]
    return build_profile(frame[list(like.features)], frame[predictions] if predictions else None, like.metrics)


def _read(path: Path, suffix: str, columns: list[str]):
    import pandas as pd

    if suffix == ".csv":
        present = set(pd.read_csv(path, nrows=0).columns)
        return pd.read_csv(path, usecols=[c for c in columns if c in present])
    import pyarrow.parquet as pq

    present = set(pq.ParquetFile(path).schema_arrow.names)
    return pd.read_parquet(path, columns=[c for c in columns if c in present])


__all__ = ["TRAINING", "reference_from"]
