"""``hydraops promote``, ``rollback`` and ``registry show``: the registry verbs, once the config is composed."""

from __future__ import annotations

from omegaconf import DictConfig

from hydraops.cli.hydra_app import Options
from hydraops.cli.output import console
from hydraops.config.schemas import ProjectSpec
from hydraops.errors import PromotionRejected, RegistryError


def promote(spec: ProjectSpec, cfg: DictConfig, options: Options) -> None:
    """The registry stage for the candidate: with dry_run=true, the plan's gate table (the gates that need the
    model's files are measured at apply); else the decision taken and applied, its table, the aliases moved."""
    from hydraops.cli.acting import carry_out
    from hydraops.cli.context import job_context

    registry = {"version": options.get("version"), "approve": options.get("approve", False), "required": True}
    dry_run = options.get("dry_run", False)
    plan, results = carry_out(job_context(spec, cfg), ["registry"], {"registry": registry}, dry_run=dry_run)
    out = console()
    if dry_run:
        (action,) = plan.actions
        if action.passes is False:
            raise PromotionRejected(f"{action.model} v{action.version} would not be promoted: failed "
                                    f"{', '.join(g for g, *_, verdict in action.gates if verdict == 'fail')}; dry run, nothing moved")  # fmt: skip
        return
    for result in results:
        if result.value is not None:
            out.print(decision_table(result.value[0]))
    raise_if_rejected(results)


def rollback(spec: ProjectSpec, cfg: DictConfig, options: Options) -> None:
    """Champion back to the previous version, recorded like a promotion."""
    from hydraops.cli.acting import carry_out
    from hydraops.cli.context import job_context

    registry = {"rollback": True, "required": True}
    carry_out(job_context(spec, cfg), ["registry"], {"registry": registry}, dry_run=options.get("dry_run", False))


def show(spec: ProjectSpec, cfg: DictConfig, options: Options) -> None:
    """Versions, aliases, key metrics and the gate history of a registered model (default: registry.name)."""
    from rich.table import Table

    from hydraops.registry.report import model_report

    client = _connect(spec)
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


def decision_table(proposal):
    """The gate table: gate, value, threshold, pass/fail, reason."""
    from rich.table import Table

    champion = proposal.aliases_before.get("champion")
    title = (f"{proposal.action} {proposal.model} v{proposal.candidate.version} → {proposal.target} "
             f"({proposal.candidate.why}); champion: {'v' + champion if champion else 'none'}")  # fmt: skip
    table = Table("gate", "value", "threshold", "result", "reason", title=title)
    for result, (gate, value, threshold, _) in zip(proposal.decision.results, proposal.decision.table_rows()):
        table.add_row(gate, value, threshold, "[green]pass[/]" if result.passed else "[red]fail[/]", result.reason)
    if not proposal.decision.results:
        table.add_row("(no gates)", "-", "-", "[green]pass[/]", "no gates declared" if proposal.moves else "nothing to decide")
    return table


def raise_if_rejected(results) -> None:
    """PromotionRejected (exit 1) when a gate rejected a promotion in ``results``: nothing moved."""
    from hydraops.plan.model import Outcome

    for result in results:
        if result.outcome is Outcome.rejected:
            raise PromotionRejected(result.summary)


def _moves(moves: dict) -> str:
    from hydraops.registry.promote import describe_moves

    return describe_moves(moves)


def _connect(spec: ProjectSpec):
    """A client of the stack's registry; RegistryError (nothing created) when its SQLite file does not exist."""
    from hydraops.tracking.handle import Tracking

    tracking = Tracking.of(spec.stack)
    missing = tracking.missing_store()
    if missing is not None:
        raise RegistryError(f"no registry yet: {missing} does not exist; run `hydraops train` first")
    return tracking.client
