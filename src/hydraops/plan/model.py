"""The Plan: a frozen, ordered list of typed Actions; applying one gives a Result.

An action is a frozen dataclass of its stage (``MaterializeView``, ``PushOnline``, ``TrainRun``,
``Promote``...): its fields are the data it acts on, its ``effect`` says what it does to the world, and
``name``/``inputs``/``outputs``/``details`` explain it. Planning builds actions and reads the world;
only their handlers (:mod:`hydraops.plan.executor`) change it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any, ClassVar


class Effect(StrEnum):
    """What an action does to the world."""

    create = "create"  # something new: a run, a model version, a bundle, a store version
    update = "update"  # something existing changes: an alias moves, a store is refreshed
    check = "check"  # reads and judges, changes nothing
    skip = "skip"  # up to date: nothing to do


@dataclass(frozen=True, kw_only=True)
class Action:
    """One step of a stage. Subclasses set ``stage``, carry their data as fields and say ``name``;
    ``notes`` are the planner's explanations (what it found), shown as details."""

    stage: ClassVar[str] = ""
    #: Consecutive actions of a type that sets this are applied at once, each on a thread of its own: they
    #: read and write nothing another of them writes, need no tag of another, and never reject or stop.
    concurrent: ClassVar[bool] = False
    effect: Effect
    notes: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return type(self).__name__

    @property
    def inputs(self) -> tuple[str, ...]:
        return ()

    @property
    def outputs(self) -> tuple[str, ...]:
        return ()

    @property
    def details(self) -> tuple[str, ...]:
        return self.notes

    @property
    def data(self) -> dict[str, Any]:
        """The fields the action acts on, as plain JSON-able data; fields declared ``compare=False`` are what a
        handler works with (an open store, a repo), not data, and are left out."""
        fields = dataclasses.fields(self)
        return {f.name: _plain(getattr(self, f.name)) for f in fields if f.compare and f.name not in ("effect", "notes")}

    @property
    def key(self) -> tuple[str, str, str]:
        """What identifies the step: its type, its data and its effect (explanations left out)."""
        import json

        return type(self).__name__, json.dumps(self.data, sort_keys=True), self.effect.value

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": type(self).__name__, "stage": self.stage, "name": self.name, "effect": self.effect.value,
            "inputs": list(self.inputs), "outputs": list(self.outputs), "details": list(self.details), "data": self.data,
        }  # fmt: skip


@dataclass(frozen=True)
class Plan:
    """What a verb will do, stage by stage; ``explain`` renders it and ``executor.apply`` carries it out."""

    project: str
    actions: tuple[Action, ...] = field(default_factory=tuple)

    @property
    def stages(self) -> list[str]:
        """The stages in order of first appearance."""
        return list(dict.fromkeys(action.stage for action in self.actions))

    def stage(self, name: str) -> list[Action]:
        return [action for action in self.actions if action.stage == name]

    @property
    def changes(self) -> list[Action]:
        """The actions that create or update something."""
        return [action for action in self.actions if action.effect in (Effect.create, Effect.update)]

    def to_dict(self) -> dict[str, Any]:
        return {"project": self.project, "actions": [action.to_dict() for action in self.actions]}


class Outcome(StrEnum):
    """How applying an action ended."""

    done = "done"  # the action changed what it said it would
    checked = "checked"  # a check that passed
    skipped = "skipped"  # planned as skip: nothing was done
    rejected = "rejected"  # a gate said no: nothing moved (exit status 1)
    stopped = "stopped"  # a decision taken at apply found the actions after it not needed (retrain: no trigger)


@dataclass(frozen=True)
class Result:
    """What applying one action did: its outcome, one line for people, and the stage's typed value. ``tags`` are
    lineage tags the actions after it record on what they create (a retrain's trigger: ``RunContext.tags``)."""

    action: Action
    outcome: Outcome
    summary: str = ""
    value: Any = None
    tags: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action.to_dict(), "outcome": self.outcome.value, "summary": self.summary}


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value
