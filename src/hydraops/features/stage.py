"""The features stage: typed actions, their planner and their handlers.

    plan_features(spec, ctx)    one MaterializeView per view, then one PushOnline

Every decision is taken by the planner: recompute a view or not (version, date range, the CURRENT files
against their manifest, ``force``), switch back to a kept folder, which views to push. It reads manifests,
source digests and what the online store holds, and writes nothing. The handlers carry out exactly what
an action says, so ``plan`` shows what ``features materialize`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from hydraops.errors import FeatureStoreError
from hydraops.features import offline
from hydraops.features.materialize import ViewResult, compute_view, covers, iso, us
from hydraops.features.push import push, push_reason
from hydraops.features.repo import FeatureRepo
from hydraops.plan.model import Action, Effect, Outcome, Result

if TYPE_CHECKING:
    from hydraops.config.schemas import ProjectSpec
    from hydraops.plan.context import RunContext


@dataclass(frozen=True, kw_only=True)
class MaterializeView(Action):
    """Make ``version`` of the view CURRENT, bounded to [start, end): switch back to the kept folder
    ``reuse``, or compute and publish a new one. Effect ``check``: the version cannot be computed (why in notes)."""

    stage: ClassVar[str] = "features"
    concurrent: ClassVar[bool] = True  # each view reads its sources and writes its own folder, under its own lock
    view: str
    version: str
    start: datetime | None = None
    end: datetime | None = None
    replaces: str | None = None  # the CURRENT folder it replaces
    reuse: str | None = None  # a kept folder that holds exactly this
    repairs: tuple[str, ...] = ()  # what was wrong with CURRENT, reported as warnings
    repo: FeatureRepo = field(compare=False, repr=False)

    @property
    def name(self) -> str:
        return f"materialize {self.view}"

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.repo.features.views[self.view].source,)

    @property
    def outputs(self) -> tuple[str, ...]:
        return (str(offline.view_dir(self.repo.offline_dir, self.view) / "versions" / f"{self.version or '?'}-*"),)


@dataclass(frozen=True, kw_only=True)
class PushOnline(Action):
    """Replace the online rows of ``views`` with their latest values at ``as_of`` (None: when it runs),
    read from each view's CURRENT timeline."""

    stage: ClassVar[str] = "features"
    views: tuple[str, ...]
    store: str  # where, for people: the backend and its path or (redacted) URL
    as_of: datetime | None = None
    repo: FeatureRepo = field(compare=False, repr=False)
    online: Any = field(compare=False, repr=False)  # an open OnlineStore, or the OnlineStoreSpec to open
    namespace: str = field(default="", compare=False, repr=False)

    @property
    def name(self) -> str:
        return "push latest values online"

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.views

    @property
    def outputs(self) -> tuple[str, ...]:
        return (self.store,)


# --- planners -------------------------------------------------------------------------------------------


def plan_features(spec: ProjectSpec, ctx: RunContext | None = None, *, start: datetime | None = None,
                  end: datetime | None = None, force: bool = False, views: Sequence[str] | None = None,
                  online: bool = True, earlier: Sequence[Action] = ()) -> list[Action]:  # fmt: skip
    """What ``features materialize`` does with these parameters: each view materialized or not, then (unless
    ``online=False``: ``train`` needs only the offline store) the push of latest values to the declared online
    store (at ``ctx.now``, else ``end``, else when it runs). ``earlier`` changes nothing here."""
    if not spec.features.views:
        return []
    now = ctx.now if ctx is not None else None
    return plan_views(FeatureRepo.from_spec(spec), views=views, start=start, end=end, force=force,
                      online=spec.stack.online_store if online else None, namespace=spec.project, now=now)  # fmt: skip


def plan_views(repo: FeatureRepo, *, views: Sequence[str] | None = None, start: datetime | None = None,
               end: datetime | None = None, force: bool = False, online: Any = None, namespace: str = "",
               now: datetime | None = None) -> list[Action]:  # fmt: skip
    """The actions for ``views`` (all by default); a push to ``online`` (an open store or a store spec)
    when one is given. An unknown view or ``start >= end`` fails here, before anything is written."""
    if start is not None and end is not None and us(start) >= us(end):
        raise FeatureStoreError(f"start={iso(start)} is not before end={iso(end)}: give start < end")
    names = list(repo.features.views) if views is None else list(views)
    for name in names:
        repo.view(name)
    actions: list[Action] = [_plan_view(repo, name, start, end, force) for name in names]
    if online is not None and names:
        actions.append(_plan_push(repo, actions, online, namespace, now or end))
    return actions


def _plan_view(repo: FeatureRepo, name: str, start: datetime | None, end: datetime | None, force: bool) -> MaterializeView:
    view = repo.view(name)
    about = f"{len(view.feature_names())} features" + (f", ttl {view.ttl}" if view.ttl else "")
    action = partial(MaterializeView, view=name, start=start, end=end, repo=repo)
    try:
        version = repo.version(name)
    except FeatureStoreError as error:  # no source file yet: materialize fails with this message
        return action(effect=Effect.check, version="", notes=(str(error), about))
    repairs: tuple[str, ...] = ()
    try:
        current = offline.current_manifest(repo.offline_dir, name)
    except FeatureStoreError as error:
        current, repairs = None, (f"view '{name}': the CURRENT timeline could not be read, so it is recomputed ({error})",)
    if force:
        why = "force=true: recomputed whatever is there"
    elif repairs:
        why = repairs[0]
    elif current is None:
        why = f"first version {version}"
    elif current.version != version:
        why = f"new version {version} (replaces {current.version}: the definition or the source files changed)"
    elif not covers(current, start, end):
        why = f"the range {_range(start, end)} is not covered by the current timeline's {_range(current.start, current.end)}"
    elif problems := offline.verify(repo.offline_dir, current):
        repairs = (f"view '{name}': the current timeline did not match its manifest, so it is recomputed ({'; '.join(problems[:3])})",)
        why = repairs[0]
    else:
        return action(effect=Effect.skip, version=version, notes=(f"version {version} is current ({current.rows:,} {current.layout} rows)", about))
    replaces = current.folder if current else None
    kept = None if force else _kept(repo, name, version, start, end)
    notes = (why, *([f"a kept folder holds it: CURRENT switches back to {kept}"] if kept else []), about)
    return action(effect=Effect.create, version=version, replaces=replaces, reuse=kept, repairs=repairs, notes=notes)


def _kept(repo: FeatureRepo, name: str, version: str, start: datetime | None, end: datetime | None) -> str | None:
    """A kept folder (not CURRENT) holding ``version`` over the range, intact: switching back to it is enough."""
    for kept in offline.previous(repo.offline_dir, name):
        if kept.version == version and covers(kept, start, end) and not offline.verify(repo.offline_dir, kept):
            return kept.folder
    return None


def _plan_push(repo: FeatureRepo, planned: list[Action], online: Any, namespace: str, as_of: datetime | None) -> PushOnline:
    """The views whose online rows will not be those of their CURRENT timeline at ``as_of``: the views
    materialized by this plan, and those the store holds another version (or instant) of."""
    reasons = {a.view: "materialized by this plan" for a in planned if a.effect is Effect.create}
    rest = [a.view for a in planned if a.effect is Effect.skip]
    if rest:
        try:
            pushed = _read_pushed(online, namespace, rest)
        except FeatureStoreError as error:
            pushed, unread = {}, f"the online store was not read ({str(error).splitlines()[0]})"
            reasons |= dict.fromkeys(rest, unread)
        at = as_of or datetime.now(UTC)
        for view in (v for v in rest if v in pushed):
            if why := push_reason(offline.current_manifest(repo.offline_dir, view), pushed[view], at):
                reasons[view] = why
    views = tuple(a.view for a in planned if a.view in reasons)  # in view order
    notes = tuple(f"{view}: {reasons[view]}" for view in views) or ("the online store holds the current version of every view",)
    effect = Effect.update if views else Effect.skip
    return PushOnline(effect=effect, views=views, store=_where(online, namespace), as_of=as_of, repo=repo,
                      online=online, namespace=namespace, notes=notes)  # fmt: skip


def _read_pushed(online: Any, namespace: str, views: list[str]) -> dict:
    from hydraops.features.online import OnlineStore, read_pushed

    if isinstance(online, OnlineStore):
        return {view: online.pushed(view) for view in views}
    return read_pushed(online, namespace, views)


def _where(online: Any, namespace: str) -> str:
    """The store for people: ``sqlite: <path>``, ``redis: <url, password redacted>``, or the open store's class."""
    from hydraops.config.secrets import redact_url
    from hydraops.features.online import OnlineStore

    if isinstance(online, OnlineStore):
        return type(online).__name__
    kind, url = getattr(online.type, "value", online.type), getattr(online, "url", None)
    return f"{kind}: {redact_url(url) if url else getattr(online, 'path', None) or 'in memory'}"


def _range(start: Any, end: Any) -> str:
    text = lambda moment: "…" if moment is None else moment if isinstance(moment, str) else iso(moment)  # noqa: E731
    return f"[{text(start)}, {text(end)})"


# --- handlers -------------------------------------------------------------------------------------------


def materialize_view(action: MaterializeView, ctx: RunContext | None = None) -> Result:
    """Switch CURRENT back to the kept folder, or compute and publish the version; leftovers cleaned."""
    repo, name = action.repo, action.view
    if action.effect is Effect.check:
        repo.version(name)  # raises what the plan showed
        raise FeatureStoreError(f"feature view '{name}' was planned as not computable but now is: plan again")
    with offline.lock(repo.offline_dir, name):  # one materialization of a view at a time
        try:
            if action.reuse:
                kept = offline.read_manifest(offline.view_dir(repo.offline_dir, name) / "versions" / action.reuse, name)
                offline.switch(repo.offline_dir, name, kept.folder)
                result = ViewResult(name, action.version, "materialized", kept.rows, kept.entities, tuple(kept.warnings))
            else:  # on a connection of the repo's shared database
                result = compute_view(repo, name, action.version, action.start, action.end, None if ctx is None else ctx.report)
        finally:
            offline.clean(repo.offline_dir, name)  # what this run or a crashed one left
    result = replace(result, warnings=(*result.warnings, *action.repairs))
    summary = f"version {action.version}, {result.rows:,} rows" + (" (a kept folder made current)" if action.reuse else "")
    return Result(action, Outcome.done, summary, result)


def push_online(action: PushOnline, ctx: RunContext | None = None) -> Result:
    """Push each named view's CURRENT timeline; the value is ``{view: rows pushed}``."""
    from hydraops.features.online import OnlineStore, open_online_store

    repo, now = action.repo, action.as_of or datetime.now(UTC)
    opened = nullcontext(action.online) if isinstance(action.online, OnlineStore) else open_online_store(action.online, action.namespace)
    counts = {}
    with opened as store:
        for view in action.views:
            with offline.lock(repo.offline_dir, view):
                manifest = offline.current_manifest(repo.offline_dir, view)
                if manifest is None:
                    raise FeatureStoreError(f"feature view '{view}' has no timeline to push: run `hydraops features materialize`")
                counts[view] = push(repo, manifest, store, now)
    return Result(action, Outcome.done, f"{sum(counts.values()):,} rows of {len(counts)} view(s) pushed to {action.store}", counts)


__all__ = ["MaterializeView", "PushOnline", "materialize_view",
           "plan_features", "plan_views", "push_online"]  # fmt: skip
