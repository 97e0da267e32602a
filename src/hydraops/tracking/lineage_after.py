"""What touched a model version after it was registered: the registry's decisions about it (alias moves, from
the audit log on the registered model), the monitoring runs that judged it (experiment ``<project>-monitoring``,
tagged with the model and version), and the retrains those runs triggered (training runs in ``<project>``
tagged with the monitoring run and its breach ids)."""

from __future__ import annotations

from hydraops.tracking import tags as T
from hydraops.tracking.lineage_graph import AfterNode, MonitoringNode, RetrainNode, VersionNode

#: The most monitoring runs (newest) read per version.
MAX_MONITORING_RUNS = 100


def after_of(client, version: VersionNode, project: str) -> AfterNode:
    monitoring = monitoring_runs(client, version, project)
    return AfterNode(decisions(client, version), monitoring, retrains(client, {m.run_id for m in monitoring}, project))


def decisions(client, version: VersionNode) -> list[dict]:
    """The audit entries (tag summaries, oldest first) deciding about the version, or moving an alias to or from it."""
    from hydraops.registry.audit import read_history

    mine = version.version

    def touches(entry: dict) -> bool:
        moves, before = entry.get("moves") or {}, entry.get("aliases_before") or {}
        moved_here = any(str(to) == mine for to in moves.values() if to is not None)
        moved_away = any(str(before.get(alias)) == mine and str(to) != mine for alias, to in moves.items())
        return str(entry.get("version")) == mine or moved_here or moved_away

    return [entry for entry in read_history(client, version.name) if touches(entry)]


def monitoring_runs(client, version: VersionNode, project: str) -> list[MonitoringNode]:
    """The monitoring runs tagged with the version, oldest first (the newest MAX_MONITORING_RUNS)."""
    from hydraops.tracking.lineage_build import breach_ids, moment

    experiment = client.get_experiment_by_name(f"{project}-monitoring")
    if experiment is None:
        return []
    query = f"tags.`{T.MONITORED_MODEL}` = '{version.name}' and tags.`{T.MONITORED_VERSION}` = '{version.version}'"
    found = client.search_runs([experiment.experiment_id], query, max_results=MAX_MONITORING_RUNS, order_by=["attributes.start_time DESC"])
    nodes = []
    for run in reversed(found):
        tags = run.data.tags
        breached = tags.get(T.BREACHED)
        nodes.append(MonitoringNode(run.info.run_id, moment(run.info.start_time), None if breached is None else breached == "true",
                                    breach_ids(tags.get(T.BREACH_IDS))))  # fmt: skip
    return nodes


def retrains(client, monitoring_run_ids: set[str], project: str) -> list[RetrainNode]:
    """The training runs in ``project`` triggered by one of the monitoring runs, oldest first, with their versions."""
    from hydraops.tracking.lineage_build import breach_ids

    experiment = client.get_experiment_by_name(project)
    if experiment is None or not monitoring_run_ids:
        return []
    found = client.search_runs([experiment.experiment_id], f"tags.`{T.TRIGGERED_BY}` LIKE '%'", order_by=["attributes.start_time ASC"])
    nodes = []
    for run in found:
        tags = run.data.tags
        if tags.get(T.TRIGGERED_BY) not in monitoring_run_ids:
            continue
        versions = client.search_model_versions(f"run_id='{run.info.run_id}'")
        nodes.append(RetrainNode(run.info.run_id, tags[T.TRIGGERED_BY], breach_ids(tags.get(T.BREACH_IDS)),
                                 sorted(f"{v.name}/{v.version}" for v in versions)))  # fmt: skip
    return nodes
