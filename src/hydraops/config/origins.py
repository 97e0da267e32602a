"""Which config file, or which command-line override, a key of the composed config came from."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

_KEY_PART = re.compile(r"\[\d+\]|[^.\[\]]+")


def display_path(path: Path) -> str:
    """A path as a person would type it: relative to the working directory when inside it."""
    try:
        return os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        return str(path)


def find_config_file(config_path: str, search_dirs: Iterable[Path]) -> Path | None:
    """``model/lightgbm`` → the first ``model/lightgbm.yaml`` on the search path."""
    for directory in search_dirs:
        candidate = Path(directory) / f"{config_path}.yaml"
        if candidate.is_file():
            return candidate
    return None


@dataclass(frozen=True)
class Layer:
    """One config merged into the result: where it came from, its package and what it sets."""

    source: str
    package: str
    content: Any  # plain containers, interpolations unresolved; None: sets everything under its package

    def sets(self, key: str) -> bool:
        if self.package and not (key == self.package or key.startswith((self.package + ".", self.package + "["))):
            return False
        if self.content is None:
            return True
        node = self.content
        for part in _KEY_PART.findall(key[len(self.package) :] if self.package else key):
            index = int(part[1:-1]) if part.startswith("[") else part
            if isinstance(node, dict) and index in node:
                node = node[index]
            elif isinstance(node, list) and isinstance(index, int) and index < len(node):
                node = node[index]
            else:
                return False
        return True


class Origins:
    """Maps key paths to their source, computed only when a problem needs naming."""

    def __init__(self, config_name: str, overrides: Sequence[str], search_dirs: Sequence[Path], groups: Iterable[str] = ()) -> None:
        self.config_name = config_name
        self.overrides = list(overrides)
        self.search_dirs = list(search_dirs)
        self.groups = set(groups)  # an override of a group chooses a file; the file sets the values

    @classmethod
    def from_hydra(cls) -> Origins:
        """Origins of the config composed by the running Hydra app."""
        from hydra.core.hydra_config import HydraConfig

        return cls._of_hydra_node(HydraConfig.get(), ("task",))

    @classmethod
    def of_composed(cls, cfg: Any) -> Origins:
        """Origins of a config Hydra just composed (its ``hydra`` node included), overrides of ``hydra.*`` too."""
        return cls._of_hydra_node(cfg.hydra, ("task", "hydra"))

    @classmethod
    def _of_hydra_node(cls, hydra_cfg: Any, kinds: Sequence[str]) -> Origins:
        dirs = [Path(s.path) for s in hydra_cfg.runtime.config_sources if s.schema == "file"]
        overrides = [str(o) for kind in kinds for o in OmegaConf.to_container(hydra_cfg.overrides[kind], resolve=False)]  # may hold ${...}
        return cls(hydra_cfg.job.config_name, overrides, dirs, hydra_cfg.runtime.choices.keys())

    @cached_property
    def layers(self) -> list[Layer]:
        """Every config of the defaults list in merge order, then the command-line overrides."""
        from hydra.core.global_hydra import GlobalHydra
        from hydra.types import RunMode

        loader = GlobalHydra.instance().config_loader()
        defaults = loader.compute_defaults_list(self.config_name, self.overrides, RunMode.RUN)
        layers = []
        for default in defaults.defaults:
            path = find_config_file(default.config_path or "", self.search_dirs) if default.config_path else None
            if path is None:
                continue  # a schema from the ConfigStore: it sets no values of its own
            content = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
            if isinstance(content, dict):
                content.pop("defaults", None)
                layers.append(Layer(display_path(path), default.package or "", content))
        return layers + self._override_layers()

    def _override_layers(self) -> list[Layer]:
        from hydra.core.override_parser.overrides_parser import OverridesParser

        layers = []
        for override in OverridesParser.create().parse_overrides(self.overrides):
            if override.key_or_group.lstrip("/") in self.groups:
                continue
            key = re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", override.key_or_group)  # a.0.b → a[0].b
            layers.append(Layer(f"command-line override '{override.input_line}'", key, None))
        return layers

    def of(self, key: str) -> str:
        """The last source that set ``key``; for a key nobody set, the file that should set it."""
        for layer in reversed(self.layers):
            if layer.sets(key):
                return layer.source
        group = key.split(".")[0].split("[")[0]
        for layer in self.layers:
            if layer.package == group:
                return layer.source
        primary = find_config_file(self.config_name, self.search_dirs)
        return display_path(primary) if primary else f"{self.config_name}.yaml"


def explain_yaml_error(error: Exception) -> Any:
    """A ConfigError for a YAML syntax error (unclosed list, duplicate key, tab...), naming the file and line."""
    from hydraops.errors import ConfigError, Problem

    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or str(error).strip().splitlines()[0]
    context, started = getattr(error, "context", None), getattr(error, "context_mark", None)
    if context and started is not None and started is not mark:
        context += f" started at line {started.line + 1}, column {started.column + 1}"
    if mark is None:
        return ConfigError([Problem("", "config", f"YAML syntax error: {problem}")])
    where = f"{display_path(Path(mark.name))}:{mark.line + 1}:{mark.column + 1}"
    detail = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
    return ConfigError([Problem("", where, detail)])
