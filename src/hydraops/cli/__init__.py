"""``hydraops <verb> [hydra overrides]``: pick the verb, hand the rest to Hydra, print.

Every verb but ``init`` is a real ``@hydra.main`` app over the project's ``conf/``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

from hydraops.cli import verbs
from hydraops.cli.hydra_app import HydraVerb
from hydraops.cli.init import init_verb

Verb = Callable[[Sequence[str]], int]

#: verb → (one-line help, what runs it)
VERBS: dict[str, tuple[str, Verb]] = {
    "init": ("create a new project from a template (copier): hydraops init NAME --template churn", init_verb),
    "validate": (
        "compose the config and check every value, reference and _target_; writes nothing",
        HydraVerb("validate", "", verbs.validate, read_only=True),
    ),
    "plan": (
        "show what the lifecycle would do, stage by stage, as a tree (--json for machines); writes nothing",
        HydraVerb("plan", "", verbs.plan, read_only=True, flags={"--json": "print the plan as JSON"}),
    ),
}

USAGE = """\
usage: hydraops <verb> [hydra overrides and flags]

The ML model lifecycle declared in composable Hydra configs.

verbs:
{verbs}

Verbs other than init take Hydra's overrides and flags unchanged: key=value, +key=value, ++key=value,
~key, group=option, -m/--multirun, --cfg job|hydra|all [--resolve], --info, -cd/-cp/-cn,
--shell-completion. `hydraops <verb> --help` lists the project's config groups.
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
    if argv[0] not in VERBS:
        print(f"error: unknown verb '{argv[0]}'; expected one of: {', '.join(VERBS)}", file=sys.stderr)
        print("(hydraops --help lists them)", file=sys.stderr)
        return 2
    try:
        return VERBS[argv[0]][1](list(argv[1:]))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        if isinstance(error, HydraopsError):
            print(f"error: {error}", file=sys.stderr)
            return error.exit_code
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
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


def main() -> None:
    """Console entry point."""
    try:
        code = run(sys.argv[1:])
        sys.stdout.flush()
    except BrokenPipeError:  # `hydraops ... | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    sys.exit(code)
