"""The edge: the RunContext of a verb running inside a Hydra job (placeholder until the tracking branch lands)."""

from __future__ import annotations

from omegaconf import DictConfig

from hydraops.config.schemas import ProjectSpec
from hydraops.plan.context import RunContext


def run_context(spec: ProjectSpec, cfg: DictConfig) -> RunContext:
    from pathlib import Path

    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    hydra = HydraConfig.get()
    overrides = [str(o) for o in OmegaConf.to_container(hydra.overrides.task, resolve=False)]
    return RunContext.create(spec, cfg, overrides=overrides, output_dir=Path(hydra.runtime.output_dir))
