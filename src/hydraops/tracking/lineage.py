"""What a run records about where it came from: code (git), environment (packages), command line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hydraops.config.secrets import Redactor

#: Packages whose versions every run records.
KEY_PACKAGES = ("hydraops", "hydra-core", "omegaconf", "mlflow", "scikit-learn", "lightgbm", "pandas", "numpy", "duckdb", "pyarrow")


def git_state(directory: Path | str) -> dict[str, str]:
    """``{"git.commit": sha, "git.dirty": "true"|"false"}``; empty outside a git checkout."""

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
    return {"git.commit": commit, "git.dirty": "true" if dirty else "false"}


def package_versions(names: tuple[str, ...] = KEY_PACKAGES) -> dict[str, str]:
    """``{"version.<package>": version}`` for each installed package of ``names``."""
    versions = {}
    for name in names:
        try:
            versions[f"version.{name}"] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


#: Set by the CLI to the command as typed, before Hydra rewrites sys.argv; inherited by launcher workers.
COMMAND_ENV = "HYDRAOPS_COMMAND"


def command_line(redactor: Redactor | None = None) -> str:
    """The command as typed (program name without its directory), without secrets (URL passwords, secret keys)."""
    import shlex

    from hydraops.config.secrets import Redactor

    typed = os.environ.get(COMMAND_ENV) or shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])
    try:
        words = shlex.split(typed)
    except ValueError:
        return (redactor or Redactor()).text(typed)
    return shlex.join((redactor or Redactor()).command(words))


def config_yaml(resolved: Mapping[str, Any]) -> str:
    """The resolved config as YAML: what a run logs as config/config.yaml, and what its digest covers."""
    from omegaconf import OmegaConf

    return OmegaConf.to_yaml(OmegaConf.create(dict(resolved)))


def config_digest(config: Mapping[str, Any]) -> str:
    """sha256 of the config as a run logs it (``hydraops.config_digest`` on runs, versions and decisions): resolved,
    secrets replaced (:mod:`hydraops.config.secrets`), so it depends on no password or environment value. A
    DictConfig is resolved and redacted here; a plain mapping is taken as already redacted."""
    import hashlib

    from omegaconf import DictConfig

    from hydraops.config.secrets import Redactor

    resolved = Redactor.of(config).config(config) if isinstance(config, DictConfig) else config
    return hashlib.sha256(config_yaml(resolved).encode()).hexdigest()
