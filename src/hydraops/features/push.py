"""The push of a view's latest values from its offline timeline to the online store.

The online store records, per view, which offline folder (``Manifest.folder``) and which instant its rows
were computed from; a push is needed until that matches what the offline store holds now.
"""

from __future__ import annotations

from datetime import datetime

from hydraops.features import offline
from hydraops.features.aggregates import aggregates_at_sql
from hydraops.features.repo import FeatureRepo
from hydraops.features.sources import connect, literal, quote


def push_reason(manifest: offline.Manifest | None, pushed, now: datetime) -> str | None:
    """Why the online rows differ from the timeline of ``manifest`` at ``now`` (None when they do not):
    nothing was pushed, another folder was, or another instant with a timeline change between the two."""
    from hydraops.features.online.base import to_micros

    if manifest is None:
        return None
    if pushed is None:
        return "nothing pushed yet"
    if pushed.version != manifest.folder:
        return f"the online rows are from {pushed.version or 'an unrecorded version'}, not the CURRENT {manifest.folder}"
    if pushed.as_of == now or manifest.last_change_us is None:
        return None
    if min(to_micros(pushed.as_of), to_micros(now)) < manifest.last_change_us:
        return f"latest values changed between {pushed.as_of.isoformat()} (pushed) and {now.isoformat()}"
    return None


def push(repo: FeatureRepo, manifest: offline.Manifest, online, now: datetime) -> int:
    """Replace the view's online rows with each entity's latest values at ``now``; returns their number."""
    from hydraops.features.online import OnlineRow
    from hydraops.features.online.base import to_micros

    name, view = manifest.view, repo.view(manifest.view)
    keys, features = manifest.join_keys, view.feature_names()
    key_list = ", ".join(quote(k) for k in keys)
    glob = literal(offline.folder_glob(repo.offline_dir, manifest))
    t = to_micros(now) - (0 if view.include_current else 1)
    con = connect(repo.memory_limit)
    if manifest.layout == offline.EVENTS:  # one request per entity: joining each to its window's rows reads at most every event once
        requests = f"(SELECT DISTINCT {key_list}, {t} AS __t FROM read_parquet({glob}))"
        events = f"read_parquet({glob})"
        # summed as the training table's are: the same bits
        aggregates = aggregates_at_sql(view, keys, events, requests, manifest.late_us or 0, direct=True, scales=manifest.sum_scales())
        latest = f"SELECT * FROM ({aggregates}) WHERE __feature_ts IS NOT NULL"
    else:
        latest = f"SELECT DISTINCT ON ({key_list}) * FROM read_parquet({glob}) WHERE __valid_from <= {t} ORDER BY {key_list}, __valid_from DESC"
    table = con.sql(
        f"SELECT {key_list}, make_timestamptz(__feature_ts) AS __feature_ts, {', '.join(quote(f) for f in features)} FROM ({latest}) ORDER BY {key_list}"
    ).to_arrow_table()
    rows = (OnlineRow(tuple(record[k] for k in keys), record["__feature_ts"], {f: record[f] for f in features}) for record in table.to_pylist())
    return online.write(name, rows, as_of=now, version=manifest.folder)
