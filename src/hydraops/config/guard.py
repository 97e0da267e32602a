"""Refuse a config whose ``hydra`` node is not allow-listed before Hydra builds anything from it.

Every config Hydra composes goes through ``ConfigLoaderImpl.load_configuration``: a run's, a sweep's main
config, each sweep job's (in a launcher's worker process too), ``--cfg``, ``--info``, shell completion and the
Compose API. Hydra configures logging, instantiates callbacks, the sweeper and the launcher, and exports
``hydra.job.env_set`` only after it returns. :func:`install` wraps it, once per process: a ``hydra.searchpath``
``pkg://`` entry is refused before composing (composing would import the package), and the composed ``hydra``
node is checked (:mod:`hydraops.config.hydra_node`) before it is handed back. Installed by every hydraops verb
and by :mod:`hydraops.config.compose`; it then checks every Hydra composition of the process.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import Any

from omegaconf import DictConfig, OmegaConf

from hydraops.config.hydra_node import Finding, hydra_findings, searchpath_findings
from hydraops.errors import ConfigError, Problem

_MARK = "_hydraops_guard"


def install() -> None:
    """Check every config Hydra composes in this process from now on; idempotent."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl

    load = ConfigLoaderImpl.load_configuration
    if getattr(load, _MARK, False):
        return

    @functools.wraps(load)
    def load_configuration(self: Any, config_name: str | None, overrides: list[str], run_mode: Any, *args: Any, **kwargs: Any) -> DictConfig:
        findings = list(_searchpath_override_findings(overrides))
        if not findings and config_name is not None:
            findings = list(_primary_searchpath_findings(self, config_name))
        if findings:
            raise ConfigError([Problem(key, source, message) for key, source, message in findings])
        cfg = load(self, config_name, overrides, run_mode, *args, **kwargs)
        check_hydra_node(cfg, sweep=str(run_mode).endswith("MULTIRUN"))
        return cfg

    setattr(load_configuration, _MARK, True)
    ConfigLoaderImpl.load_configuration = load_configuration


def check_hydra_node(cfg: DictConfig, *, sweep: bool = False) -> None:
    """A ConfigError naming each key of ``cfg.hydra`` that is not allowed, and where it was set."""
    findings = hydra_findings(cfg)
    if sweep:
        findings += _hydra_sweep_findings(cfg)
    if findings:
        from hydraops.config.origins import Origins

        origins = Origins.of_composed(cfg)
        raise ConfigError([Problem(key, _source(origins, key), message) for key, message in findings])


def _searchpath_override_findings(overrides: Sequence[str]) -> Iterator[tuple[str, str, str]]:
    for override in overrides:
        name, _, value = override.partition("=")
        if name.lstrip("+~") == "hydra.searchpath" and ("pkg://" in value or "structured://" in value):
            yield "hydra.searchpath", f"command-line override '{override}'", "pkg:// entries are not allowed: search path entries are folders"


def _primary_searchpath_findings(loader: Any, config_name: str) -> Iterator[tuple[str, str, str]]:
    """``hydra.searchpath`` of the primary config, which Hydra reads before composing anything else (only the
    file's text is read unless it mentions a search path: composing goes on to check the composed node)."""
    from pathlib import Path

    for source in loader.repository.get_sources():
        path = Path(source.path) / f"{config_name}.yaml"
        if source.scheme() != "file" or not path.is_file():
            continue
        if "searchpath" in path.read_text():
            try:
                entries = OmegaConf.select(OmegaConf.load(path), "hydra.searchpath")
            except Exception:  # noqa: BLE001 - a YAML error: composing reports it, with its line
                return
            entries = OmegaConf.to_container(entries) if OmegaConf.is_config(entries) else entries
            for key, message in searchpath_findings(entries or [], "hydra.searchpath"):
                yield key, str(path), message
        return


def _hydra_sweep_findings(cfg: DictConfig) -> list[Finding]:
    """A sweep varies the task's config: an override sweeping a ``hydra.*`` key is refused up front."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    overrides = [str(o) for o in cfg.hydra.overrides.hydra]
    parsed = OverridesParser.create().parse_overrides(overrides) if overrides else []
    return [
        (override.get_key_element().lstrip("+~"), "a sweep may not vary Hydra's own settings (hydra.*)") for override in parsed if override.is_sweep_override()
    ]


def _source(origins: Any, key: str) -> str:
    """Which file or command-line override set ``key`` (``config`` when that cannot be told)."""
    try:
        return origins.of(key)
    except Exception:  # noqa: BLE001 - the defaults list of a sweep's main config, say: the key is still named
        return "config"
