"""`hydraops init`: a new project from a template with copier, valid out of the box, updatable."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import Run

GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@localhost"]


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    """A private HYDRAOPS_HOME, where init keeps its template repositories."""
    return {"HYDRAOPS_HOME": str(tmp_path / "home")}


def test_init_creates_a_project_that_validates_and_plans(hydraops: Run, tmp_path: Path, home: dict[str, str]) -> None:
    result = hydraops("init", "my-churn", "--template", "churn", cwd=tmp_path, env=home)
    assert result.returncode == 0, result.stderr
    project = tmp_path / "my-churn"
    assert (project / "conf" / "project.yaml").read_text().strip().endswith("project: my-churn")
    assert not (project / "copier.yml").exists() and not (project / "data").exists()
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["project_name"] == "my-churn"
    assert answers["_src_path"] == str(tmp_path / "home" / "templates" / "churn")
    assert answers["_commit"].startswith("v0.1.0")
    log = subprocess.run(["git", "log", "--oneline"], cwd=project, capture_output=True, text=True)
    assert "New hydraops project 'my-churn'" in log.stdout

    validate = hydraops("validate", cwd=project)
    assert validate.returncode == 0, validate.stderr
    assert "project 'my-churn' is valid" in validate.stdout
    plan = hydraops("plan", "--json", cwd=project)
    assert plan.returncode == 0 and '"project": "my-churn"' in plan.stdout


def test_copier_update_brings_a_new_template_version(hydraops: Run, tmp_path: Path, home: dict[str, str]) -> None:
    from copier import run_update

    assert hydraops("init", "acme", "--directory", str(tmp_path / "acme"), cwd=tmp_path, env=home).returncode == 0
    template = tmp_path / "home" / "templates" / "churn"
    (template / "conf" / "experiment" / "wide.yaml").write_text("# @package _global_\nmodel:\n  num_leaves: 127\n")
    subprocess.run(["git", "add", "-A"], cwd=template, check=True)
    subprocess.run([*GIT, "commit", "-qm", "new experiment"], cwd=template, check=True)
    subprocess.run(["git", "tag", "v0.2.0"], cwd=template, check=True)

    run_update(str(tmp_path / "acme"), defaults=True, overwrite=True, quiet=True)

    project = tmp_path / "acme"
    assert (project / "conf" / "experiment" / "wide.yaml").is_file()
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"] == "v0.2.0"
    assert "project: acme" in (project / "conf" / "project.yaml").read_text()
    assert hydraops("validate", "experiment=wide", cwd=project).returncode == 0


def test_init_refuses_a_non_empty_destination(hydraops: Run, tmp_path: Path, home: dict[str, str]) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    result = hydraops("init", "taken", cwd=tmp_path, env=home)
    assert result.returncode == 2
    assert "exists and is not empty" in result.stderr and "Traceback" not in result.stderr
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"


def test_init_refuses_an_unknown_template(hydraops: Run, tmp_path: Path, home: dict[str, str]) -> None:
    result = hydraops("init", "x", "--template", "fraud", cwd=tmp_path, env=home)
    assert result.returncode == 2
    assert "unknown template 'fraud'; available: churn, trips" in result.stderr


def test_init_refuses_a_bad_project_name(hydraops: Run, tmp_path: Path, home: dict[str, str]) -> None:
    result = hydraops("init", "My Churn!", "--directory", str(tmp_path / "bad"), cwd=tmp_path, env=home)
    assert result.returncode == 2
    assert "lowercase letters" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "bad").exists(), "nothing half-written"
