"""Lineage read back from MLflow through the tag vocabulary (:mod:`hydraops.tracking.tags`): the run of a
model version, the data a run was trained on, the sweep a run belongs to. What serving, monitoring and
``registry show`` ask; each takes a client with explicit URIs (``Tracking.client``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from hydraops.tracking import tags as T


@dataclass(frozen=True)
class DataLineage:
    """What a training run read: its training table's sha256, each source file's sha256, each view's version."""

    training_table_sha256: str | None
    data_sha256: dict[str, str] = field(default_factory=dict)  # source file name → sha256
    view_versions: dict[str, str] = field(default_factory=dict)  # feature view → offline store version


@dataclass(frozen=True)
class Sweep:
    """The sweep a run belongs to: its parent run and the parent's best child (None until the sweep ended)."""

    parent_run_id: str
    best_child: str | None

    def is_best(self, run_id: str) -> bool:
        return self.best_child == run_id


def run_of_version(client, model: str, version: str | int) -> str:
    """The id of the training run that registered ``model`` version ``version``."""
    return client.get_model_version(model, str(version)).run_id


def data_lineage_of_tags(tags: Mapping[str, str]) -> DataLineage:
    """:class:`DataLineage` from a run's tags."""
    data = {name: value for key, value in tags.items() if (name := T.data_file_of(key))}
    views = {view: value for key, value in tags.items() if (view := T.feature_view_of(key))}
    return DataLineage(tags.get(T.TRAINING_TABLE_SHA256), dict(sorted(data.items())), dict(sorted(views.items())))


def data_lineage(client, run_id: str) -> DataLineage:
    """The training table, source files and feature view versions run ``run_id`` was trained on."""
    return data_lineage_of_tags(client.get_run(run_id).data.tags)


def sweep_of(client, run_id: str) -> Sweep | None:
    """The sweep run ``run_id`` is a job of (or is the parent of); None for a run outside any sweep."""
    tags = client.get_run(run_id).data.tags
    if tags.get(T.SWEEP) == "true":
        return Sweep(run_id, tags.get(T.BEST_CHILD))
    parent_id = tags.get(T.PARENT_RUN)
    if parent_id is None:
        return None
    parent = client.get_run(parent_id).data.tags
    return Sweep(parent_id, parent.get(T.BEST_CHILD)) if parent.get(T.SWEEP) == "true" else None


__all__ = ["DataLineage", "Sweep", "data_lineage", "data_lineage_of_tags", "run_of_version", "sweep_of"]
