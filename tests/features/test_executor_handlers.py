"""The executor's handler table: every entry resolves, and a features-only plan imports no other stage."""

from __future__ import annotations

import os
import subprocess
import sys

from hydraops.plan.executor import HANDLERS, handlers


def test_every_entry_names_an_action_and_its_handler():
    table = handlers()
    assert [f"{kind.__module__}.{kind.__qualname__}" for kind in table] == list(HANDLERS)
    assert [f"{run.__module__}:{run.__name__}" for run in table.values()] == list(HANDLERS.values())


def test_a_features_handler_imports_no_training_registry_or_serving_stage():
    code = (
        "import sys\n"
        "from hydraops.features.stage import MaterializeView\n"
        "from hydraops.plan.executor import handler\n"
        "assert handler(MaterializeView).__name__ == 'materialize_view'\n"
        "print(sorted(m for m in sys.modules if m.startswith(('hydraops.training', 'hydraops.registry', 'hydraops.serving'))))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.strip() == "[]"
