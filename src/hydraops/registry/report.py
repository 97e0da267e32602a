"""What ``hydraops registry show`` prints, gathered from MLflow: versions, aliases, key metrics, gate history."""

from __future__ import annotations

from dataclasses import dataclass

from hydraops.registry import audit
from hydraops.registry.promote import TAG, aliases_of, describe_moves


@dataclass(frozen=True)
class VersionSummary:
    version: str
    created: str
    run_id: str
    aliases: tuple[str, ...]
    metrics: dict[str, float]
    decision: str  # the latest decision's state and action ("applied promote"), or "" when none
    gates_passed: str  # "true" | "false" | ""


@dataclass(frozen=True)
class HalfDone:
    """A decision that stopped half-way (a ``pending`` audit entry never closed), and how far its alias moves
    got, read from the aliases as they are now."""

    entry: dict
    done: dict[str, str | None]  # moves in place
    not_done: dict[str, str | None]  # moves still to make: the alias is as the decision found it
    moved_since: dict[str, str | None]  # aliases another decision has moved since: alias → where it is now

    @classmethod
    def of(cls, entry: dict, aliases: dict[str, str]) -> HalfDone:
        done, not_done, since = {}, {}, {}
        for alias, target in entry["moves"].items():
            now = aliases.get(alias)
            if now == target:
                done[alias] = target
            elif now == entry["aliases_before"].get(alias):
                not_done[alias] = target
            else:
                since[alias] = now
        return cls(entry, done, not_done, since)

    def describe(self) -> str:
        """``decision … (promote v2, …) moved previous → v1; not champion → v2``: exactly what moved."""
        e = self.entry
        moved = f"moved {describe_moves(self.done)}" if self.done else "moved no alias"
        parts = [moved] + ([f"not {describe_moves(self.not_done)}"] if self.not_done else [])
        parts += [f"{alias} has since moved to {'v' + v if v else 'none'}" for alias, v in self.moved_since.items()]
        return f"decision {e['id']} ({e['action']} v{e['version']}, {e['when']}) " + "; ".join(parts)


@dataclass(frozen=True)
class ModelReport:
    name: str
    aliases: dict[str, str]
    versions: tuple[VersionSummary, ...]  # newest first, at most ``limit``
    total_versions: int
    history: tuple[dict, ...]  # audit entries, oldest first; a pending entry its decision closed is left out
    half_done: tuple[HalfDone, ...]


def model_report(client, name: str, metric_keys: tuple[str, ...], limit: int = 20) -> ModelReport:
    """Everything ``registry show`` prints about one registered model; RegistryError when there is none."""
    aliases = aliases_of(client, name)
    found = sorted(client.search_model_versions(f"name='{name}'"), key=lambda v: int(v.version), reverse=True)
    by_version: dict[str, list[str]] = {}
    for alias, version in aliases.items():
        by_version.setdefault(version, []).append(alias)
    versions = []
    for v in found[:limit]:
        metrics = client.get_run(v.run_id).data.metrics
        state = " ".join(filter(None, (v.tags.get(TAG + "state"), v.tags.get(TAG + "action"))))
        versions.append(VersionSummary(
            str(v.version), _when(v.creation_timestamp), v.run_id, tuple(sorted(by_version.get(str(v.version), ()))),
            {key: metrics[key] for key in metric_keys if key in metrics}, state, v.tags.get(TAG + "passed", ""),
        ))  # fmt: skip
    history = audit.read_history(client, name)
    half_done = audit.half_done(history)
    shown = [entry for entry in history if entry["outcome"] != "pending" or entry in half_done]
    progress = tuple(HalfDone.of(entry, aliases) for entry in half_done)
    return ModelReport(name, aliases, tuple(versions), len(found), tuple(shown), progress)


def _when(millis: int | None) -> str:
    from datetime import UTC, datetime

    return "" if millis is None else datetime.fromtimestamp(millis / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
