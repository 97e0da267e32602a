"""One promotion in a process of its own, for the race and crash tests.

    python -m tests.registry.promoter URI ARTIFACTS MODEL VERSION [--barrier DIR --parties N] [--crash]
        [--crash-after-moves N] [--rollback]

Decides (propose_promotion; propose_rollback with ``--rollback``, VERSION then unused), waits at the
barrier until every party has decided (so the decisions really race), then applies. ``--crash`` kills the
process (os._exit) between writing the tags and moving the aliases; ``--crash-after-moves N`` kills it
right after its N-th alias move reached the registry. Prints the outcome as JSON; exits 3 on a conflict,
1 on a rejection.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("uri")
    parser.add_argument("artifacts", type=Path)
    parser.add_argument("model")
    parser.add_argument("version", type=int)
    parser.add_argument("--barrier", type=Path)
    parser.add_argument("--parties", type=int, default=2)
    parser.add_argument("--crash", action="store_true")
    parser.add_argument("--crash-after-moves", type=int)
    parser.add_argument("--rollback", action="store_true")
    args = parser.parse_args()

    from hydraops.errors import RegistryConflict
    from hydraops.registry import promote
    from tests.registry.support import BEATS, Store, registry_spec

    store = Store(args.uri, args.artifacts)
    client = store.client()
    audit_experiment = store.experiment_id("churn-registry")
    if args.rollback:
        proposal = promote.propose_rollback(client, registry_spec(name=args.model))
    else:
        proposal = promote.propose_promotion(client, registry_spec(BEATS, name=args.model), store.experiment, version=args.version)
    if args.barrier:
        (args.barrier / str(os.getpid())).touch()
        deadline = time.monotonic() + 60
        while len(list(args.barrier.iterdir())) < args.parties and time.monotonic() < deadline:
            time.sleep(0.02)
    if args.crash:
        promote._move_aliases = lambda *_, **__: os._exit(70)  # the crash: tags written, no alias moved
    if args.crash_after_moves:
        _crash_after(client, args.crash_after_moves)
    try:
        entry = promote.apply(client, proposal, experiment_id=audit_experiment, config_digest="race")
    except RegistryConflict as error:
        print(json.dumps({"outcome": "conflict", "error": str(error)}))
        return 3
    print(json.dumps({"outcome": entry.outcome, "id": entry.id}))
    return 1 if entry.outcome == "rejected" else 0


def _crash_after(client, moves: int) -> None:
    """Make the process die (os._exit(70)) right after its ``moves``-th alias move (set or delete) returned."""
    done = []

    def counted(call):
        def move(*args, **kwargs):
            call(*args, **kwargs)
            done.append(args)
            if len(done) == moves:
                os._exit(70)

        return move

    client.set_registered_model_alias = counted(client.set_registered_model_alias)
    client.delete_registered_model_alias = counted(client.delete_registered_model_alias)


if __name__ == "__main__":
    sys.exit(main())
