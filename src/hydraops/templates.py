"""Project templates: ``hydraops init NAME --template churn`` renders ``projects/churn`` with copier.

Copier can only update a project from a template kept in git, so each packaged template is first synced
into a local git repository under ``<home>/templates/<name>`` (the CLI's home: ``$HYDRAOPS_HOME``, default
``~/.cache/hydraops``),
one commit and tag per template version. The answers file records that repository and tag, and
``copier update`` in the project later moves it to a newer template version.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from hydraops._resources import packaged_dir
from hydraops.errors import TemplateError

#: Never copied into a template or a new project: generated data and run outputs.
GENERATED = ("data", "outputs", "multirun", "artifacts", "mlruns", "__pycache__", ".git", ".copier-answers.yml")


def available_templates() -> list[str]:
    """Names of the templates that ship with hydraops (``projects/*`` with a copier.yml)."""
    root = packaged_dir("projects")
    return sorted(path.parent.name for path in root.glob("*/copier.yml"))


def default_home() -> Path:
    """Where hydraops keeps its template repositories unless told: ``~/.cache/hydraops``."""
    return Path.home() / ".cache" / "hydraops"


def create_project(name: str, destination: Path, template: str = "churn", *, home: Path | None = None) -> Path:
    """Render ``template`` into ``destination`` non-interactively, with ``name`` as the project name.

    The new project gets its own git repository with an initial commit (unless it is inside one), so
    ``copier update`` can later bring in newer template versions.
    """
    from copier import run_copy

    if template not in available_templates():
        raise TemplateError(f"unknown template '{template}'; available: {', '.join(available_templates())}")
    destination = Path(destination).resolve()
    if destination.exists() and any(destination.iterdir()):
        raise TemplateError(f"destination {destination} exists and is not empty; choose a new directory")
    repository, ref = template_repository(template, home or default_home())
    try:
        run_copy(str(repository), str(destination), data={"project_name": name}, defaults=True, vcs_ref=ref, quiet=True)
    except Exception as error:  # copier raises many kinds; all mean the project was not created
        raise TemplateError(f"copier could not render template '{template}' into {destination}: {error}") from error
    if _git(destination, "rev-parse", "--is-inside-work-tree", check=False).returncode != 0:
        _git(destination, "init", "-q")
        _commit(destination, f"New hydraops project '{name}' from template {template} {ref}")
    return destination


def template_repository(template: str, home: Path) -> tuple[Path, str]:
    """The local git repository of ``template`` under ``home`` synced with the packaged files, and the tag of
    this version."""
    from hydraops import __version__

    source = packaged_dir("projects") / template
    repository = Path(home) / "templates" / template
    repository.mkdir(parents=True, exist_ok=True)
    if not (repository / ".git").is_dir():
        _git(repository, "init", "-q")
    for entry in repository.iterdir():
        if entry.name != ".git":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    shutil.copytree(source, repository, dirs_exist_ok=True, ignore=shutil.ignore_patterns(*GENERATED))
    tag = f"v{__version__}+{_tree_digest(repository)[:10]}"
    if _git(repository, "rev-parse", "-q", "--verify", f"refs/tags/{tag}", check=False).returncode != 0:
        _commit(repository, f"template {template} {tag}")
        _git(repository, "tag", tag)
    return repository, tag


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and ".git" not in p.relative_to(root).parts):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _commit(repository: Path, message: str) -> None:
    _git(repository, "add", "-A")
    _git(repository, "-c", "user.name=hydraops", "-c", "user.email=hydraops@localhost", "commit", "-q", "--allow-empty", "-m", message)


def _git(repository: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    if shutil.which("git") is None:
        raise TemplateError("hydraops init needs git on PATH (copier keeps templates and updates in git)")
    result = subprocess.run(["git", *args], cwd=repository, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise TemplateError(f"git {' '.join(args)} failed in {repository}: {result.stderr.strip()}")
    return result
