"""``hydraops features <verb>``: materialize, training-table, get-online, check-skew, verify, list, describe."""

from __future__ import annotations

import os

from omegaconf import DictConfig
from rich.markup import escape
from rich.table import Table

from hydraops.cli.hydra_app import Options
from hydraops.cli.output import console, progress, reporter
from hydraops.config.schemas import ProjectSpec
from hydraops.errors import FeatureStoreError
from hydraops.features import FeatureRepo
from hydraops.features.repo import key_kinds
from hydraops.paths import resolve_under


def materialize(spec: ProjectSpec, cfg: DictConfig, options: Options) -> None:
    """Every view's timeline into the offline store; latest values into the online store: the features
    stage planned with the verb's parameters, shown and left there with ``dry_run=true``, else applied."""
    from hydraops.cli.acting import carry_out
    from hydraops.cli.context import job_context
    from hydraops.features.materialize import report

    params = {"start": options.get("start"), "end": options.get("end"), "force": options.get("force", False)}
    as_json = bool(options.get("json"))
    _, results = carry_out(job_context(spec, cfg), ["features"], {"features": params}, dry_run=options.get("dry_run", False), as_json=as_json)
    if not results or as_json:
        return
    views = report(FeatureRepo.from_spec(spec), results).views
    table = Table("view", "version", "status", "rows", "entities", "pushed online", title="features materialize")
    for view in views:
        table.add_row(escape(view.view), view.version, view.status, f"{view.rows:,}", f"{view.entities:,}", _count(view.pushed))
    out = console()
    out.print(table)
    for view in views:
        for warning in view.warnings:
            out.print(f"[yellow]warning[/yellow] {escape(warning)}")


def training_table(spec: ProjectSpec, cfg: DictConfig, options: Options) -> None:
    """The labels joined with every feature, point in time, as parquet."""
    from hydraops.features.historical import build_training_table

    out = options.get("out")  # from the command line: it must stay inside the project (paths.root)
    if out:
        path = str(resolve_under(spec.paths.root, os.path.abspath(out), what=f"out={out} (training-table)"))
    else:
        path = os.path.join(spec.paths.offline_store_dir, "training_table.parquet")
    shown = console()
    with progress(shown) as bar:
        result = build_training_table(FeatureRepo.from_spec(spec), path, reporter(bar))
    title = f"training table: {result.rows:,} rows → {escape(result.path)}"
    table = Table("view", "rows without a value", "rows expired (TTL)", title=title)
    for view, report in result.report.items():
        table.add_row(escape(view), f"{report.missing:,}", f"{report.expired:,}")
    shown.print(table)
    for warning in result.warnings:
        shown.print(f"[yellow]warning[/yellow] {escape(warning)}")


def get_online(spec: ProjectSpec, cfg: DictConfig, options: Options) -> None:
    """Latest values of one or more entities (``entity=42`` or ``entity=42,43``), the TTL enforced at
    ``at=`` (an ISO date or timestamp; default now)."""
    from hydraops.features.online import get_online_features, open_online_store

    rows = _entity_rows(spec, options["entity"])
    with open_online_store(spec.stack.online_store, spec.project) as store:
        served = get_online_features(spec.features, store, rows, now=options.get("at"))
    heading = [", ".join(str(v) for v in row.values()) if len(rows) > 1 else " ".join(f"{k}={v}" for k, v in row.items()) for row in rows]
    table = Table("feature", *map(escape, heading), title="online features")
    names = spec.features.feature_names()
    for name in names:
        cells = []
        for result in served:
            flag = " (expired)" if name in result.expired else " (missing)" if name in result.missing else " (later than at)" if name in result.later else ""
            cells.append(escape(f"{result.values.get(name)!r}{flag}"))
        table.add_row(escape(name), *cells)
    console().print(table)


def check_skew(spec: ProjectSpec, cfg: DictConfig, options: Options) -> None:
    """Online values against the offline point-in-time values at the same instant."""
    from hydraops.features.online import open_online_store
    from hydraops.features.skew import check_skew as run
    from hydraops.features.validation import example

    sample = options.get("sample")
    with open_online_store(spec.stack.online_store, spec.project) as store:
        results = run(FeatureRepo.from_spec(spec), store, sample)
    table = Table("feature", "compared", "mismatches", "examples (key, online, offline)", title="training/serving skew")
    for result in results:
        style = "red" if result.mismatches else "green"
        examples = "; ".join(example(item) for item in result.examples)
        table.add_row(escape(result.feature), str(result.compared), f"[{style}]{result.mismatches}[/{style}]", escape(examples))
    console().print(table)
    if any(result.mismatches for result in results):
        raise FeatureStoreError(f"{sum(r.mismatches for r in results)} online value(s) differ from the offline ones")


def verify(spec: ProjectSpec, cfg: DictConfig, options: Options) -> None:
    """Each view's CURRENT offline timeline against its manifest (every file's size and sha256, no file
    more or less), and whether the online store holds that version; fails naming each damaged file."""
    from rich.markup import escape

    from hydraops.features.offline import current_manifest
    from hydraops.features.offline import verify as check
    from hydraops.features.online import read_pushed

    repo = FeatureRepo.from_spec(spec)
    names = [options["view"]] if "view" in options else list(spec.features.views)
    for name in names:
        repo.view(name)
    pushed = read_pushed(spec.stack.online_store, spec.project, names)
    table = Table("view", "offline version", "files", "offline", "online", title="features verify")
    failures = []
    for name in names:
        try:
            manifest = current_manifest(repo.offline_dir, name)
        except FeatureStoreError as error:
            failures.append(str(error))
            table.add_row(name, "-", "-", "[red]unreadable[/red]", "-")
            continue
        if manifest is None:
            table.add_row(name, "-", "-", "not materialized", "-" if pushed[name] is None else "holds an older version")
            continue
        problems = [f"feature view '{name}': {problem}" for problem in check(repo.offline_dir, manifest)]
        failures += problems
        online = (
            "nothing pushed"
            if pushed[name] is None
            else "current"
            if pushed[name].version == manifest.folder
            else "[yellow]behind: run `hydraops features materialize`[/yellow]"
        )
        status = f"[red]{len(problems)} problem(s)[/red]" if problems else "[green]intact[/green]"
        table.add_row(name, escape(manifest.folder), str(len(manifest.files)), status, online)
    console().print(table)
    if failures:
        raise FeatureStoreError(
            f"the offline store does not match its manifests ({len(failures)} problem(s)):\n  "
            + "\n  ".join(failures)
            + "\n`hydraops features materialize` rebuilds damaged views (force=true rebuilds every view)"
        )


def list_views(spec: ProjectSpec, cfg: DictConfig, options: Options) -> None:
    """The catalog: every view with its entity, source, TTL, owner and current version."""
    from hydraops.features.offline import current_manifest

    repo = FeatureRepo.from_spec(spec)
    table = Table("view", "entity", "source", "ttl", "features", "owner", "version", "description", title="feature views")
    for name, view in spec.features.views.items():
        repo.view_dir(name)  # a name leading outside the offline store is refused, not read
        manifest = current_manifest(spec.paths.offline_store_dir, name)
        version = manifest.version if manifest else "not materialized"
        cells = [name, view.entity, view.source, view.ttl or "-", str(len(view.feature_names())), view.owner or "-", version, view.description]
        table.add_row(*map(escape, cells))
    console().print(table)


def describe(spec: ProjectSpec, cfg: DictConfig, options: Options) -> None:
    """Every feature of a view (``view=NAME``; all views by default): dtype, checks, owner, description."""
    repo = FeatureRepo.from_spec(spec)
    names = [options["view"]] if "view" in options else list(spec.features.views)
    out = console()
    for name in names:
        view = repo.view(name)
        table = Table("feature", "definition", "dtype", "checks", "owner", "tags", "description", title=f"view {escape(name)}")
        for feature, item in view.features.items():
            checks = ", ".join(
                text for text in (
                    None if item.nullable else "not null",
                    None if item.ge is None else f">= {item.ge:g}",
                    None if item.le is None else f"<= {item.le:g}",
                    None if item.isin is None else f"in {list(item.isin)}",
                ) if text
            )  # fmt: skip
            cells = [feature, item.expr, item.dtype or "-", checks or "-", item.owner or view.owner or "-", ", ".join(item.tags), item.description]
            table.add_row(*map(escape, cells))
        for i, func, window, name in view.aggregates():
            aggregation = view.aggregations[i]
            where = f" where {aggregation.where}" if aggregation.where else ""
            definition = f"{func.value}({aggregation.column}){where} over (t - {window}, t]"
            cells = [name, definition, "-", "-", view.owner or "-", ", ".join(view.tags), aggregation.description]
            table.add_row(*map(escape, cells))
        out.print(table)


def _entity_rows(spec: ProjectSpec, text: str) -> list[dict]:
    """``entity=42,43``: rows of the one join key of a one-key project; ``entity=zone:3,driver_id:7``: one row
    with the named join keys (a project of several entities: each view is looked up by its own keys)."""
    pairs = [part.strip() for part in text.split(",") if part.strip()]
    keys = sorted({key for entity in spec.features.entities.values() for key in entity.join_keys})
    kinds = key_kinds(spec.features, spec.data)
    if all(":" in pair for pair in pairs):
        row = {key.strip(): value for key, _, value in (pair.partition(":") for pair in pairs)}
        unknown = [key for key in row if key not in keys]
        if unknown:
            raise FeatureStoreError(f"entity=…: {', '.join(unknown)} is not a join key; join keys: {', '.join(keys)}")
        return [{key: _typed(key, value, kinds) for key, value in row.items()}]
    if len(keys) != 1:
        raise FeatureStoreError(f"entity=… names its keys in a project of several join keys ({', '.join(keys)}): entity={keys[0]}:…,{keys[1]}:…")
    return [{keys[0]: _typed(keys[0], value, kinds)} for value in pairs]


def _typed(key: str, value: str, kinds: dict[str, str]) -> int | str:
    """``value`` typed as its key's sources declare it (``007`` stays a string where keys are strings); a guess
    where none does."""
    value = value.strip()
    kind = kinds.get(key)
    if kind is None:
        return int(value) if value.lstrip("-").isdigit() else value
    if kind == "string":
        return value
    try:
        return int(value)
    except ValueError:
        raise FeatureStoreError(
            f"entity=…: '{value}' is not an integer; join key '{key}' is declared int64 by its sources (data.sources.*.columns.{key}.dtype)", column=key
        ) from None


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"
