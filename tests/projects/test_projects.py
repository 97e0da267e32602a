"""Smoke-run every example project: generate small data, validate, plan — the plan finds every source."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECTS, Run, copy_project

NAMES = sorted(path.parent.name for path in PROJECTS.glob("*/generate_data.py"))
#: Each project's generator arguments for a small data set: a new project adds its own here.
SMALL = {"churn": ["--customers", "1000"], "trips": ["--zones", "8", "--drivers", "50", "--trips", "3000"]}


@pytest.mark.parametrize("name", NAMES)
def test_project_end_to_end(name: str, hydraops: Run, tmp_path: Path) -> None:
    project = copy_project(name, tmp_path / name)
    generate = subprocess.run([sys.executable, "generate_data.py", *SMALL[name]], cwd=project, capture_output=True, text=True)
    assert generate.returncode == 0, generate.stderr
    validate = hydraops("validate", cwd=project)
    assert validate.returncode == 0, validate.stderr
    plan = hydraops("plan", "--json", cwd=project)
    assert plan.returncode == 0, plan.stderr
    actions = json.loads(plan.stdout)["actions"]
    sources = [action for action in actions if action["stage"] == "data"]
    assert sources, "every project declares sources"
    for action in sources:
        assert action["details"][0].startswith("1 file"), action


def test_every_project_is_a_template() -> None:
    from hydraops.templates import available_templates

    assert available_templates() == NAMES == sorted(SMALL)
    for name in NAMES:
        assert (PROJECTS / name / "copier.yml").is_file()
        assert (PROJECTS / name / "conf" / "project.yaml.jinja").is_file()
