"""Turn Hydra's and OmegaConf's composition errors into Problems naming the key and the file."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path

from hydraops.config.origins import display_path, find_config_file
from hydraops.config.schemas import expected
from hydraops.errors import ConfigError, Problem

_IN_CONFIG = re.compile(r"^In '([^']+)'")
_OVERRIDE = re.compile(r"(?:Could not override|Error merging override|Could not append to config\. An item is already at) '?([^'\n]+?)'?\.?$", re.M)


def explain_hydra_error(error: Exception, search_dirs: Sequence[Path], overrides: Sequence[str]) -> ConfigError:
    """A ConfigError with one Problem for a Hydra/OmegaConf exception raised while composing."""
    from hydra.errors import MissingConfigException, OverrideParseException

    message = str(error).strip()
    cause = error.__cause__ or error.__context__
    if isinstance(error, MissingConfigException) and error.missing_cfg_file:
        group, _, option = error.missing_cfg_file.rpartition("/")
        options = ", ".join(error.options or []) or "(none)"
        text = f"unknown option '{option}' for group '{group or '(root)'}'; available: {options}"
        return ConfigError([Problem(group, _choice_source(group, option, search_dirs, overrides), text)])
    if isinstance(error, OverrideParseException):
        return ConfigError([Problem("", "command line", message.splitlines()[0])])
    key = getattr(cause, "full_key", None) or getattr(error, "full_key", None) or ""
    detail = _first_line(cause) if cause is not None and str(cause).strip() else message.splitlines()[-1]
    object_type = getattr(cause, "object_type", None)
    if detail.startswith("Key '") and dataclasses.is_dataclass(object_type):
        known = ", ".join(f.name for f in dataclasses.fields(object_type))
        detail = f"{detail}; expected one of: {known}"
    elif detail.endswith("is not Optional") and (what := expected(object_type, getattr(cause, "key", None))):
        detail = f"{detail}: expected {what}"
    return ConfigError([Problem(key, _source(message, key, search_dirs, overrides), detail)])


def _source(message: str, key: str, search_dirs: Sequence[Path], overrides: Sequence[str]) -> str:
    match = _OVERRIDE.search(message)
    if match:
        return f"command-line override '{match.group(1)}'"
    match = _IN_CONFIG.match(message)
    if match:
        path = find_config_file(match.group(1), search_dirs)
        return display_path(path) if path else f"{match.group(1)}.yaml"
    for override in overrides:
        name = override.lstrip("+~").split("=")[0].split("@")[0]
        if key and (name == key or key.startswith((name + ".", name + "["))):
            return f"command-line override '{override}'"
    return "config"


def _choice_source(group: str, option: str, search_dirs: Sequence[Path], overrides: Sequence[str]) -> str:
    """Where ``group: option`` was chosen: a command-line override, or a defaults-list line in a file."""
    for override in overrides:
        name, _, value = override.lstrip("+~").partition("=")
        if name.split("@")[0].lstrip("/") == group and option in value.split(","):
            return f"command-line override '{override}'"
    line = re.compile(rf"^\s*-\s*(override\s+)?/?{re.escape(group)}(@\S+)?\s*:\s*{re.escape(option)}\s*(#.*)?$", re.M)
    for directory in search_dirs:
        for path in sorted(Path(directory).rglob("*.yaml")):
            if line.search(path.read_text()):
                return display_path(path)
    return "config"


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0]
