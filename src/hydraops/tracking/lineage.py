"""What a run records about where it came from: code (git), environment (packages), command line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

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


def command_line() -> str:
    """The command as typed (program name without its directory)."""
    return os.environ.get(COMMAND_ENV) or " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])


def config_yaml(resolved: Mapping[str, Any]) -> str:
    """The resolved config as YAML: what a run logs as config/config.yaml, and what its digest covers."""
    from omegaconf import OmegaConf

    return OmegaConf.to_yaml(OmegaConf.create(dict(resolved)))


def config_digest(config: Mapping[str, Any]) -> str:
    """sha256 of the resolved config's YAML (``hydraops.config_digest`` on runs, versions and decisions)."""
    import hashlib

    from omegaconf import DictConfig, OmegaConf

    resolved = OmegaConf.to_container(config, resolve=True) if isinstance(config, DictConfig) else config
    return hashlib.sha256(config_yaml(resolved).encode()).hexdigest()
