"""The Plan: a frozen, ordered list of Actions that a lifecycle verb would carry out."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Effect(StrEnum):
    """What an action does to the world."""

    create = "create"  # something new: a run, a model version, a bundle, a store partition
    update = "update"  # something existing changes: an alias moves, a store is refreshed
    check = "check"  # reads and judges, changes nothing
    skip = "skip"  # up to date: nothing to do


@dataclass(frozen=True)
class Action:
    """One step of a stage: what it reads, what it writes, and what it would create or change."""

    stage: str
    name: str
    effect: Effect
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    """What a verb would do, stage by stage; ``explain`` renders it and the executor applies it."""

    project: str
    actions: tuple[Action, ...] = field(default_factory=tuple)

    @property
    def stages(self) -> list[str]:
        """The stages in order of first appearance."""
        return list(dict.fromkeys(action.stage for action in self.actions))

    def stage(self, name: str) -> list[Action]:
        return [action for action in self.actions if action.stage == name]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON: enums as their values."""

        def plain(action: Action) -> dict[str, Any]:
            data = asdict(action)
            data["effect"] = action.effect.value
            data.update({key: list(data[key]) for key in ("inputs", "outputs", "details")})
            return data

        return {"project": self.project, "actions": [plain(action) for action in self.actions]}
