"""What ``reproduce`` replays: only overrides of the task's config, and never one whose secret was redacted."""

from __future__ import annotations

import pytest

from hydraops.training.reproduce import _replay_problem, overrides_record, redacted_overrides


@pytest.mark.parametrize("override", ["debug=fast", "model.num_leaves=9", "+model.features=[age,plan]", "~evaluate.slices", "model=random_forest"])
def test_task_overrides_replay(override: str) -> None:
    assert _replay_problem(override) is None


@pytest.mark.parametrize(
    ("override", "says"),
    [
        ("+hydra.callbacks.x={_target_:os.system,command:true}", "sets Hydra's own settings"),
        ("hydra/launcher=joblib", "sets Hydra's own settings"),
        ("hydra.run.dir=/tmp/x", "sets Hydra's own settings"),
        ("--config-dir=/tmp/evil", "is a flag"),
        ("-m", "is a flag"),
        ("model.num_leaves=7,15", "is a sweep"),
        ("model.num_leaves=[", "is not an override"),
    ],
)
def test_anything_else_is_refused(override: str, says: str) -> None:
    problem = _replay_problem(override)
    assert problem is not None and says in problem, problem


def test_redacted_overrides_must_be_given_again() -> None:
    recorded = ["debug=fast", "stack.online_store.url=redis://:***@h:6379/0", "db.api_key=***"]
    assert redacted_overrides(recorded, []) == recorded[1:]
    assert redacted_overrides(recorded, ["stack.online_store.url=redis://:pw@h:6379/0"]) == ["db.api_key=***"]


def test_the_record_and_its_digest() -> None:
    text, digest = overrides_record(["debug=fast"])
    assert text == '[\n  "debug=fast"\n]' and len(digest) == 64 and overrides_record(["debug=fast"])[1] == digest
