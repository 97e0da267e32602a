"""Registers the schemas in Hydra's ConfigStore and the resolvers hydraops configs use."""

from __future__ import annotations

import os

from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from hydraops.config.names import MODELS
from hydraops.config.schemas import ProjectSpec
from hydraops.features.online import ONLINE_STORES

#: The root schema's name in the ConfigStore: the library's ``hydraops.yaml`` puts it first in its defaults.
ROOT_SCHEMA = "hydraops_schema"


def register() -> None:
    """Store every schema and register the resolvers; idempotent."""
    store = ConfigStore.instance()
    store.store(name=ROOT_SCHEMA, node=ProjectSpec, provider="hydraops")
    for name, entry in MODELS.items():
        store.store(group="schema/model", name=name, node=entry.spec, provider="hydraops")
    for kind, spec in ONLINE_STORES.items():
        store.store(group="schema/online_store", name=kind.value, node=spec, provider="hydraops")
    # The process id keeps two runs started in the same second out of each other's output directory.
    OmegaConf.register_new_resolver("hydraops.pid", os.getpid, use_cache=True, replace=True)
