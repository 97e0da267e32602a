"""What a run records about where it came from: code (git), environment (packages), command line, config."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydraops.tracking import tags as T

if TYPE_CHECKING:
    from hydraops.config.secrets import Redactor

#: Packages whose versions every run records.
KEY_PACKAGES = ("hydraops", "hydra-core", "omegaconf", "mlflow", "scikit-learn", "lightgbm", "pandas", "numpy", "duckdb", "pyarrow")


def git_state(directory: Path | str) -> dict[str, str]:
    """``{mlflow.source.git.commit: sha, git.dirty: "true"|"false"}``; empty outside a git checkout."""

    def git(*args: str) -> str | None:
        try:
            result = subprocess.run(["git", *args], cwd=directory, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return result.stdout.strip() if result.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {}
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return {T.SOURCE_GIT_COMMIT: commit, T.GIT_DIRTY: "true" if dirty else "false"}


def source_tags(command: str, directory: Path | str) -> dict[str, str]:
    """MLflow's source tags of a run started by ``command`` (its first two words name the source: ``hydraops
    train``) in the project at ``directory``: the git commit, the source's name and type, the user."""
    import getpass

    name = " ".join(command.split()[:2]) or "hydraops"
    return {T.SOURCE_NAME: name, T.SOURCE_TYPE: "LOCAL", T.USER: getpass.getuser(), **git_state(directory)}


def package_versions(names: tuple[str, ...] = KEY_PACKAGES) -> dict[str, str]:
    """``{"version.<package>": version}`` for each installed package of ``names``."""
    versions = {}
    for name in names:
        try:
            versions[T.package_version(name)] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def command_line(words: Sequence[str] | str, redactor: Redactor | None = None) -> str:
    """The command ``words`` (or a typed command line), program name without its directory, without secrets
    (URL passwords, secret keys)."""
    import shlex

    from hydraops.config.secrets import Redactor

    redactor = redactor or Redactor()
    if isinstance(words, str):
        try:
            words = shlex.split(words)
        except ValueError:
            return redactor.text(words)
    words = list(words)
    if words:
        words[0] = Path(words[0]).name
    return shlex.join(redactor.command(words))


def config_yaml(resolved: Mapping[str, Any]) -> str:
    """The resolved config as YAML: what a run logs as config/config.yaml, and what its digest covers."""
    from omegaconf import OmegaConf

    return OmegaConf.to_yaml(OmegaConf.create(dict(resolved)))


def config_digest(resolved: Mapping[str, Any]) -> str:
    """sha256 of the config as a run logs it (``hydraops.config_digest`` on runs, versions and decisions): a
    plain mapping, resolved with its secrets replaced (``config.secrets.redacted_config`` makes one), so it
    depends on no password or environment value."""
    import hashlib

    return hashlib.sha256(config_yaml(resolved).encode()).hexdigest()
