"""``hydraops <verb> [hydra overrides]``: pick the verb, hand the rest to Hydra, print.

Every verb but ``init`` is a real ``@hydra.main`` app over the project's ``conf/``.
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
from collections.abc import Callable, Sequence

from hydraops.cli import feature_verbs, registry_verbs, serving_verbs, verbs
from hydraops.cli.hydra_app import HELP_FLAGS, HydraVerb
from hydraops.cli.init import init_verb
from hydraops.cli.lineage_verb import LINEAGE_PARAMS, lineage
from hydraops.cli.monitor_verb import MONITOR_PARAMS, monitor
from hydraops.cli.params import Kind, Param, verb_help, version_param
from hydraops.cli.reproduce import reproduce_verb
from hydraops.cli.retrain_verb import RETRAIN_PARAMS, retrain
from hydraops.cli.score_verb import SCORE_PARAMS, score

Verb = Callable[[Sequence[str]], int]

DRY_RUN = Param("dry_run", Kind.BOOL, "show the plan and stop; nothing changes", default=False)
VIEW = Param("view", Kind.TEXT, "one feature view (default: every view)")
PROMOTE_PARAMS = (
    version_param("the candidate version (default: registry.candidate)"),
    DRY_RUN,
    Param("approve", Kind.BOOL, "the manual_approval gate's approval", default=False),
)
MATERIALIZE_PARAMS = (
    Param("start", Kind.MOMENT, "keep row views' timelines from this instant on (naive: UTC; default: all)"),
    Param("end", Kind.MOMENT, "keep rows up to this instant (inclusive); latest values are those at end (default: now)"),
    Param("force", Kind.BOOL, "recompute and push every view, whatever is there", default=False),
)
ALIAS = Param("alias", Kind.TEXT, "the registry alias whose version is bundled (default: deploy.alias)")
PORT = Param("port", Kind.INT, "the port to listen on (default: deploy.service.port)", minimum=1)
OUT = Param("out", Kind.PATH, "the parquet file to write, inside the project (default: in the offline store)")
SAMPLE = Param("sample", Kind.INT, "stored entities compared per view", default=100, minimum=1)
CHECK_DATA = Param("check_data", Kind.BOOL, "also check the sources' schemas (file metadata, no rows) against every column the config names", default=False)
GET_ONLINE_PARAMS = (
    Param(
        "entity",
        Kind.TEXT,
        "the entity key(s) to look up",
        expected="the entity key(s), e.g. entity=42, entity=42,43, or entity=pickup_zone:3,driver_id:7 (several join keys)",
        required=True,
    ),
    Param("at", Kind.MOMENT, "the instant the TTL is enforced at (naive: UTC; default: now)"),
)

#: verb → (one-line help, what runs it)
VERBS: dict[str, tuple[str, Verb]] = {
    "init": ("create a new project from a template (copier): hydraops init NAME --template churn", init_verb),
    "validate": (
        "compose the config and check every value, reference and _target_; writes nothing [check_data=true]",
        HydraVerb("validate", verbs.validate, read_only=True, params=(CHECK_DATA,)),
    ),
    "plan": (
        "show what `hydraops apply` would do, stage by stage, as a tree (--json for machines); writes nothing",
        HydraVerb("plan", verbs.plan, read_only=True, flags=("--json",)),
    ),
    "apply": (
        "carry out every declared stage in lifecycle order (features → train → registry → serving); idempotent [dry_run=true] [--json]",
        HydraVerb("apply", verbs.apply, flags=("--json",), params=(DRY_RUN,)),
    ),
    "train": (
        "fit the declared model on the training table, track the run in MLflow, register a model version [dry_run=true]",
        HydraVerb("train", verbs.train, params=(DRY_RUN,)),
    ),
    "promote": (
        "evaluate the registry gates on the candidate version and move its alias: [version=N] [dry_run=true] [approve=true]",
        HydraVerb("promote", registry_verbs.promote, read_only=True, params=PROMOTE_PARAMS),
    ),
    "rollback": (
        "move the champion alias back to the previous version, recorded like a promotion [dry_run=true]",
        HydraVerb("rollback", registry_verbs.rollback, read_only=True, params=(DRY_RUN,)),
    ),
    "registry show": (
        "versions, aliases, key metrics and the decision history of a registered model: registry show [NAME]",
        HydraVerb("registry show", registry_verbs.show, read_only=True, positional="name"),
    ),
    "build": (
        "bundle the version deploy.alias points to into a bento in the project's store (stack.bento_home) [alias=NAME] [dry_run=true] [--json]",
        HydraVerb("build", serving_verbs.build, flags=("--json",), params=(ALIAS, DRY_RUN)),
    ),
    "serve": (
        "serve the built bento with `bentoml serve` on deploy.service.host and port [port=N] [alias=NAME]; stops on SIGTERM/SIGINT",
        HydraVerb("serve", serving_verbs.serve, read_only=True, params=(PORT, ALIAS)),
    ),
    "containerize": (
        "`bentoml containerize` the built bento with a container engine (docker, podman, buildah) [alias=NAME]",
        HydraVerb("containerize", serving_verbs.containerize, read_only=True, params=(ALIAS,)),
    ),
    "score": (
        "score a parquet or CSV file in batch with the alias's version: input=PATH output=PATH [alias=NAME] [explain=true]",
        HydraVerb("score", score, read_only=True, params=SCORE_PARAMS),
    ),
    "monitor": (
        "judge a parquet or CSV file, or the prediction log over a window, against a model version's reference profile (drift), per time chunk; violations.json, exit 3 on a breach: current=PATH | window=7d [version=N]",
        HydraVerb("monitor", monitor, read_only=True, params=MONITOR_PARAMS),
    ),
    "retrain": (
        "decide on the latest monitoring result (retrain.*) and, on a breach, materialize → train → promote, tagged with the trigger: [current=PATH] [dry_run=true]",
        HydraVerb("retrain", retrain, params=RETRAIN_PARAMS),
    ),
    "lineage": (
        "trace a request id, MODEL@ALIAS, MODEL/VERSION or run id to its model version, run, config, data and code, and what "
        "touched the version since (decisions, monitoring, retrains): lineage TARGET [--json]",
        HydraVerb("lineage", lineage, read_only=True, flags=("--json",), params=LINEAGE_PARAMS, positional="target"),
    ),
    "reproduce": (
        "train again from a run's recorded overrides; report whether the model is bit-identical: reproduce RUN_ID",
        reproduce_verb,
    ),
    "features materialize": (
        "compute every feature view into the offline store, push latest values online [start=DATE end=DATE] [force=true] [dry_run=true] [--json]",
        HydraVerb("features materialize", feature_verbs.materialize, flags=("--json",), params=(*MATERIALIZE_PARAMS, DRY_RUN)),
    ),
    "features training-table": (
        "join the labels with every feature, point in time, into parquet [out=PATH]",
        HydraVerb("features training-table", feature_verbs.training_table, params=(OUT,)),
    ),
    "features get-online": (
        "latest feature values of entities from the online store, TTL enforced: entity=ID[,ID...] [at=DATE]",
        HydraVerb("features get-online", feature_verbs.get_online, read_only=True, params=GET_ONLINE_PARAMS),
    ),
    "features check-skew": (
        "compare online values with offline point-in-time values at the same instant [sample=N]",
        HydraVerb("features check-skew", feature_verbs.check_skew, read_only=True, params=(SAMPLE,)),
    ),
    "features verify": (
        "check the offline store's files against their manifests (sizes, sha256) and the online store's version [view=NAME]",
        HydraVerb("features verify", feature_verbs.verify, read_only=True, params=(VIEW,)),
    ),
    "features list": (
        "the catalog of feature views: entity, source, TTL, owner, current version",
        HydraVerb("features list", feature_verbs.list_views, read_only=True),
    ),
    "features describe": (
        "every feature of a view with its definition, checks, owner, description [view=NAME]",
        HydraVerb("features describe", feature_verbs.describe, read_only=True, params=(VIEW,)),
    ),
}

USAGE = """\
usage: hydraops <verb> [hydra overrides and flags]

The ML model lifecycle declared in composable Hydra configs.

verbs:
{verbs}

Verbs other than init take Hydra's overrides and flags unchanged: key=value, +key=value, ++key=value,
~key, group=option, -m/--multirun, --cfg job|hydra|all [--resolve], --info, -cd/-cp/-cn,
--shell-completion. `hydraops <verb> --help` lists the verb's parameters and the project's config groups.
Errors print as one message; set HYDRA_FULL_ERROR=1 for the traceback."""


def usage() -> str:
    width = max(len(name) for name in VERBS)
    return USAGE.format(verbs="\n".join(f"  {name:<{width}}  {text}" for name, (text, _) in VERBS.items()))


def run(argv: Sequence[str]) -> int:
    """Run ``hydraops`` with ``argv`` (without the program name); returns the exit status."""
    from hydraops import __version__
    from hydraops.errors import HydraopsError

    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    if argv[0] == "--version":
        print(f"hydraops {__version__}")
        return 0
    if argv[0] in ("-sc", "--shell-completion"):
        return _complete(argv)
    words = 2 if " ".join(argv[:2]) in VERBS else 1
    name = " ".join(argv[:words])
    if name not in VERBS:
        groups = {verb.split(" ")[0] for verb in VERBS if " " in verb}
        known = [verb for verb in VERBS if verb.startswith(f"{argv[0]} ")] if argv[0] in groups else list(VERBS)
        print(f"error: unknown verb '{' '.join(argv[:2]) if argv[0] in groups else argv[0]}'; expected one of: {', '.join(known)}", file=sys.stderr)
        print("(hydraops --help lists them)", file=sys.stderr)
        return 2
    summary, verb = VERBS[name]
    args = list(argv[words:])
    if isinstance(verb, HydraVerb) and any(arg in HELP_FLAGS for arg in args):
        print(verb_help(f"hydraops {name}", summary, verb.params, verb.flags))  # then Hydra's help: config groups
    try:
        return verb(args)
    except KeyboardInterrupt as interrupt:
        print(f"{str(interrupt) or 'interrupted'}{_notes(interrupt)}", file=sys.stderr)
        return 143 if isinstance(interrupt, Terminated) else 130
    except Exception as error:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        if isinstance(error, HydraopsError):
            print(f"error: {error}{_notes(error)}", file=sys.stderr)
            return error.exit_code
        print(f"error: {type(error).__name__}: {error}{_notes(error)}", file=sys.stderr)
        print("(set HYDRA_FULL_ERROR=1 for the full traceback)", file=sys.stderr)
        return 1


def _complete(argv: Sequence[str]) -> int:
    """Hydra's completion script calls ``hydraops -sc query=bash`` with the line in COMP_LINE.

    Every verb composes the same config, so the verb is taken out of the line and any verb answers.
    """
    words = os.environ.get("COMP_LINE", "").split(" ")
    if len(words) > 1 and words[1] in VERBS:
        os.environ["COMP_LINE"] = " ".join(words[:1] + words[2:])
    return VERBS["validate"][1](list(argv))


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C (open runs end KILLED); the command exits 143 (128 + SIGTERM)."""


def _terminate(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
    raise Terminated("terminated (SIGTERM)")


def _notes(error: BaseException) -> str:
    """What was added to an error on its way up (a run that could not be ended), one line each."""
    return "".join(f"\n  {note}" for note in getattr(error, "__notes__", []))


def main() -> None:
    """Console entry point."""
    from hydraops.cli.context import COMMAND_ENV

    os.environ.setdefault(COMMAND_ENV, shlex.join(["hydraops", *sys.argv[1:]]))
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # MLflow 3 reports usage to its servers unless told not to
    signal.signal(signal.SIGTERM, _terminate)
    try:
        code = run(sys.argv[1:])
        sys.stdout.flush()
    except BrokenPipeError:  # `hydraops ... | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    sys.exit(code)
