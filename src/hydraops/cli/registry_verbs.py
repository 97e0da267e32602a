"""``hydraops promote``, ``rollback`` and ``registry show``: the registry verbs, once the config is composed."""

from __future__ import annotations

from omegaconf import DictConfig

from hydraops.cli.hydra_app import Options
from hydraops.cli.output import console
from hydraops.config.schemas import ProjectSpec
from hydraops.errors import ConfigError, Problem, PromotionRejected, RegistryError


def promote(spec: ProjectSpec, cfg: DictConfig, options: Options) -> None:
    """Evaluate the gates on the candidate, print the table, and (unless dry_run=true) move the aliases."""
    from hydraops.registry.promote import apply, propose_promotion

    version = _integer(options, "version")
    dry_run, approve = _boolean(options, "dry_run"), _boolean(options, "approve")
    ctx = _context(spec, cfg)
    client = ctx.tracking.client
    proposal = propose_promotion(client, spec.registry, spec.project, version=version, approve=approve)
    out = console()
    out.print(decision_table(proposal))
    if proposal.nothing_to_do:
        out.print(f"v{proposal.candidate.version} is already {proposal.target}: nothing to do")
        return
    if dry_run:
        verdict = "would move: " + _moves(proposal.moves) if proposal.decision.passed else "would be rejected"
        out.print(f"dry run, nothing moved; {verdict}")
        _raise_if_rejected(proposal)
        return
    entry = apply(client, proposal, experiment_id=_audit_experiment(spec, client), config_digest=ctx.config_digest, actor=ctx.actor)
    if entry.outcome == "rejected":
        _raise_if_rejected(proposal, entry.id)
    out.print(f"[bold green]applied[/] decision {entry.id}: {_moves(entry.moves)}")


def rollback(spec: ProjectSpec, cfg: DictConfig, options: Options) -> None:
    """Champion back to the previous version, recorded like a promotion."""
    from hydraops.registry.promote import apply, propose_rollback

    dry_run, ctx = _boolean(options, "dry_run"), _context(spec, cfg)
    client = ctx.tracking.client
    proposal = propose_rollback(client, spec.registry)
    out = console()
    out.print(f"rollback {proposal.model}: {proposal.candidate.why}")
    if dry_run:
        out.print(f"dry run, nothing moved; would move: {_moves(proposal.moves)}")
        return
    entry = apply(client, proposal, experiment_id=_audit_experiment(spec, client), config_digest=ctx.config_digest, actor=ctx.actor)
    out.print(f"[bold green]applied[/] decision {entry.id}: {_moves(entry.moves)}")


def show(spec: ProjectSpec, cfg: DictConfig, options: Options) -> None:
    """Versions, aliases, key metrics and the gate history of a registered model (default: registry.name)."""
    from rich.table import Table

    from hydraops.registry.report import model_report

    client = _context(spec, cfg).tracking.client
    primary = spec.evaluate.primary_metric
    report = model_report(client, options.get("name") or spec.registry.name, (f"valid.{primary}", f"test.{primary}"))
    out = console()
    aliases = ", ".join(f"{alias} → v{version}" for alias, version in sorted(report.aliases.items())) or "none"
    count = f"{report.total_versions} version{'' if report.total_versions == 1 else 's'}"
    out.print(f"[bold]{report.name}[/]: {count}; aliases: {aliases}")
    versions = Table("version", "created (UTC)", "aliases", f"valid.{primary}", f"test.{primary}", "latest decision", "gates", "run")
    for v in report.versions:
        scores = [f"{v.metrics[k]:.4f}" if k in v.metrics else "-" for k in (f"valid.{primary}", f"test.{primary}")]
        gates = {"true": "[green]passed[/]", "false": "[red]failed[/]"}.get(v.gates_passed, "-")
        versions.add_row(f"v{v.version}", v.created, ", ".join(v.aliases), *scores, v.decision or "-", gates, v.run_id)
    out.print(versions)
    if report.total_versions > len(report.versions):
        out.print(f"(the newest {len(report.versions)} of {report.total_versions} versions)")
    history = Table("when (UTC)", "action", "version", "outcome", "who", "moves", "failed gates / note", title="decisions")
    progress = {half.entry["id"]: half for half in report.half_done}
    for entry in report.history:
        outcome = {"applied": "[green]applied[/]", "rejected": "[red]rejected[/]",
                   "pending": "[yellow]half-done[/]"}.get(entry["outcome"], entry["outcome"])  # fmt: skip
        moved = _moves(entry["moves"]) if entry["outcome"] == "applied" else "-"
        if entry["id"] in progress and entry["outcome"] == "pending":
            moved = _moves(progress[entry["id"]].done)
        detail = ", ".join(entry.get("failed", [])) or entry.get("note", "")
        history.add_row(entry["when"][:19].replace("T", " "), entry["action"], f"v{entry['version']}", outcome,
                        entry["who"], moved, detail)  # fmt: skip
    out.print(history if report.history else "no promotion decisions yet")
    for half in report.half_done:
        out.print(f"[bold yellow]half-done[/]: {half.describe()}; run `hydraops {half.entry['action']}` again to complete it")


def decision_table(proposal):  # noqa: ANN001, ANN201 - a rich Table
    """The gate table: gate, value, threshold, pass/fail, reason."""
    from rich.table import Table

    champion = proposal.aliases_before.get("champion")
    title = (f"{proposal.action} {proposal.model} v{proposal.candidate.version} → {proposal.target} "
             f"({proposal.candidate.why}); champion: {'v' + champion if champion else 'none'}")  # fmt: skip
    table = Table("gate", "value", "threshold", "result", "reason", title=title)
    for result, (gate, value, threshold, verdict) in zip(proposal.decision.results, proposal.decision.table_rows()):
        table.add_row(gate, value, threshold, "[green]pass[/]" if result.passed else "[red]fail[/]", result.reason)
    if not proposal.decision.results:
        table.add_row("(no gates)", "-", "-", "[green]pass[/]", "no gates declared" if proposal.moves else "nothing to decide")
    return table


def _raise_if_rejected(proposal, decision_id: str | None = None) -> None:  # noqa: ANN001
    if proposal.decision.passed:
        return
    failed = ", ".join(result.gate for result in proposal.decision.failures)
    recorded = f"; recorded as decision {decision_id}" if decision_id else ""
    raise PromotionRejected(f"{proposal.model} v{proposal.candidate.version} not promoted: failed {failed}; nothing moved{recorded}")


def _moves(moves: dict) -> str:
    from hydraops.registry.promote import describe_moves

    return describe_moves(moves)


def _context(spec: ProjectSpec, cfg: DictConfig):  # noqa: ANN202 - a RunContext
    """The job's context; RegistryError (nothing created) when the registry's SQLite file does not exist."""
    from hydraops.cli.context import job_context

    ctx = job_context(spec, cfg)
    missing = ctx.tracking.missing_store()
    if missing is not None:
        raise RegistryError(f"no registry yet: {missing} does not exist; run `hydraops train` first")
    return ctx


def _audit_experiment(spec: ProjectSpec, client) -> str:  # noqa: ANN001
    """The id of the experiment holding the audit log, created on the first decision that is recorded."""
    from hydraops.tracking.runs import ensure_experiment

    return ensure_experiment(client, f"{spec.project}-registry", spec.stack.artifact_location)


def _integer(options: Options, name: str) -> int | None:
    if name not in options:
        return None
    try:
        return int(options[name])
    except ValueError:
        raise ConfigError([Problem(name, "command line", f"{name}={options[name]}: expected a version number, e.g. {name}=3")]) from None


def _boolean(options: Options, name: str) -> bool:
    value = options.get(name, "false").lower()
    if value not in ("true", "false", "1", "0", "yes", "no"):
        raise ConfigError([Problem(name, "command line", f"{name}={options[name]}: expected true or false")])
    return value in ("true", "1", "yes")
