"""``hydraops lineage TARGET [--json]``: a prediction, model version or run traced back to its config, data and
code, and what touched its model version since; a rich tree, or JSON (``format`` 1, docs/concepts/lineage.md)."""

from __future__ import annotations

import json
import os
from typing import Any

from omegaconf import DictConfig

from hydraops.cli.hydra_app import Options
from hydraops.cli.monitor_verb import LOG_URL_ENV
from hydraops.cli.params import Kind, Param
from hydraops.config.schemas import ProjectSpec

#: ``json=true`` is the same as ``--json`` (no default: the flag is not overridden).
LINEAGE_PARAMS = (Param("json", Kind.BOOL, "print the lineage as JSON (same as --json)"),)
USAGE = "hydraops lineage TARGET [--json]: TARGET is a request id, MODEL@ALIAS, MODEL/VERSION or a run id"


def lineage(spec: ProjectSpec, cfg: DictConfig, options: Options) -> None:
    """Print the lineage of ``options["target"]``; UsageError (exit 2) naming what was tried when it names nothing."""
    from hydraops.cli.output import console
    from hydraops.cli.registry_verbs import _connect
    from hydraops.errors import UsageError
    from hydraops.tracking.lineage_build import lineage_of

    target = options.get("target")
    if not target:
        raise UsageError("lineage needs a TARGET", key="target", hint=USAGE)
    found = lineage_of(_connect(spec), target, project=spec.project, prediction_log=prediction_log_location(spec))
    if options.get("json"):
        print(json.dumps(found.to_dict(), indent=2, default=str))
        return
    console().print(lineage_tree(found))


def prediction_log_location(spec: ProjectSpec) -> Any:
    """``stack.prediction_log``, its URL or directory replaced by ``HYDRAOPS_PREDICTION_LOG_URL`` when set."""
    from hydraops.serving.prediction_log import resolve

    declared, given = spec.stack.prediction_log, os.environ.get(LOG_URL_ENV) or None
    if given is None or declared is None:
        return given or declared
    kind, _, table = resolve(declared)
    return {"type": kind, "path" if kind == "parquet" else "url": given, "table": table}


def lineage_tree(lineage):  # (Lineage) -> rich.tree.Tree
    """The chain as a tree: prediction → version → run → config → data → feature views → code → afterwards."""
    from rich.markup import escape as e
    from rich.tree import Tree

    root = Tree(f"[bold]lineage of {e(lineage.target)}[/] ({lineage.kind})")
    if (p := lineage.prediction) is not None:
        node = root.add(f"[bold]prediction[/] {e(p.request_id)} at {p.time}: {e(p.model_name)} v{e(p.model_version)}, "
                        f"{len(p.rows)} row(s) (log {e(p.location)})")  # fmt: skip
        for row in p.rows:
            keys = ", ".join(f"{k}={v}" for k, v in row.keys.items()) or "no entity key"
            shadow = f"; shadow v{row.shadow_model_version}: {_number(row.shadow_prediction)}" if row.shadow_model_version else ""
            branch = node.add(f"row {row.row}: {e(keys)} → prediction {_number(row.prediction)}{e(shadow)}")
            branch.add(e(", ".join(f"{k}={_value(v)} ({row.statuses.get(k) or '-'})" for k, v in row.features.items())))
    v = lineage.model_version
    if v is None:
        root.add("[yellow]model version: not in the registry[/]" if lineage.prediction else "model version: none registered from this run")
    else:
        aliases = f" [{', '.join(v.aliases)}]" if v.aliases else ""
        node = root.add(f"[bold]model version[/] {e(v.name)} v{v.version}{e(aliases)}, created {v.created}, {v.flavor or '-'}, sha256 {v.sha256 or '-'}")
        if v.promotion:
            node.add(e(f"latest decision: {v.promotion.get('action', '?')} → {v.promotion.get('alias', '-')} {v.promotion.get('state', '?')} "
                       f"by {v.promotion.get('by', '?')} at {v.promotion.get('at', '?')}"))  # fmt: skip
        if v.triggered_by:
            node.add(f"registered by a retrain triggered by monitoring run {v.triggered_by}")
    if lineage.other_versions:
        root.add(f"also registered from the run: {', '.join(lineage.other_versions)}")
    _run(root, lineage, e)
    _after(root, lineage, e)
    return root


def _run(root, lineage, e) -> None:
    r = lineage.run
    if r is None:
        if lineage.model_version is not None:
            root.add(f"[yellow]training run {lineage.model_version.source_run_id or '-'}: not in the tracking store[/]")
        return
    node = root.add(f"[bold]training run[/] {r.run_id} ({e(r.name or '-')}) in experiment {e(r.experiment)}, {r.status}, started {r.start}")
    shown = {k: x for k, x in r.metrics.items() if k.startswith("test.")} or r.metrics
    node.add("metrics: " + (", ".join(f"{k} {x:.4f}" for k, x in shown.items()) or "none"))
    if r.sweep_parent_run_id:
        node.add(f"sweep: a job of parent run {r.sweep_parent_run_id}{' (its best)' if r.best_in_sweep else ''}")
    if r.reproduces:
        node.add(f"reproduces run {r.reproduces}")
    if r.triggered_by:
        breaches = ", ".join(r.triggered_by.breach_ids) or "none named"
        node.add(f"[bold]retrained because of monitoring run {r.triggered_by.monitoring_run_id}[/], breaches: {e(breaches)}")
    c = lineage.config
    node = root.add(f"[bold]config[/] digest {c.digest or '-'}")
    node.add(f"command: {e(c.command or '-')}")
    verified = {True: ", verified", False: ", [red]changed since the run[/]", None: ""}[c.overrides_verified]
    node.add(f"overrides: {e(' '.join(c.overrides) if c.overrides else 'none')} (digest {c.overrides_digest or '-'}{verified})")
    node.add(f"resolved config: {c.artifact or 'not logged'}")
    d = lineage.data
    node = root.add(f"[bold]data[/]: training table sha256 {d.training_table_sha256 or '-'}; data checks {e(d.data_checks or '-')}")
    for name, digest in d.files.items():
        node.add(f"{e(name)} sha256 {digest}")
    for dataset in d.datasets:
        node.add(f"dataset {e(dataset.name)} ({dataset.context or '-'}) digest {dataset.digest} from {e(dataset.source)}")
    views = root.add("[bold]feature views[/]" + ("" if lineage.feature_views else ": none recorded"))
    for view, version in lineage.feature_views.items():
        views.add(f"{e(view)} version {version}")
    code = lineage.code
    dirty = {True: " (uncommitted changes)", False: "", None: ""}[code.git_dirty]
    node = root.add(f"[bold]code[/]: git {code.git_commit or 'not recorded (not a git checkout)'}{dirty}")
    node.add("packages: " + (", ".join(f"{k} {x}" for k, x in code.packages.items()) or "not recorded"))


def _after(root, lineage, e) -> None:
    if lineage.model_version is None:
        return
    a = lineage.after
    node = root.add("[bold]afterwards[/]" + ("" if a.decisions or a.monitoring or a.retrains else ": nothing touched the version"))
    for entry in a.decisions:
        moves = ", ".join(f"{alias} → {'v' + str(to) if to else 'removed'}" for alias, to in (entry.get("moves") or {}).items()) or "no move"
        failed = f"; failed {', '.join(entry['failed'])}" if entry.get("failed") else ""
        node.add(e(f"{entry.get('when', '?')} {entry.get('action', '?')} v{entry.get('version', '?')} {entry.get('outcome', '?')} "
                   f"by {entry.get('who', '?')}: {moves}{failed}"))  # fmt: skip
    for m in a.monitoring:
        verdict = {True: "[red]breached[/]", False: "[green]no breach[/]", None: "-"}[m.breached]
        node.add(f"monitoring run {m.run_id} at {m.start}: {verdict}" + (f" ({e(', '.join(m.breach_ids))})" if m.breach_ids else ""))
    for t in a.retrains:
        node.add(f"retrain run {t.run_id} because of monitoring run {t.monitoring_run_id}, breaches {e(', '.join(t.breach_ids) or '-')}"
                 f" → {', '.join(t.versions) or 'no version'}")  # fmt: skip


def _number(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, (int, float)) else "-"


def _value(value: Any) -> str:
    return "null" if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)
