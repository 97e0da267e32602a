"""Compose a project's config from Python (tests, notebooks) and turn it into typed specs.

The CLI composes through ``@hydra.main``; this is the same composition through Hydra's Compose API.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from omegaconf import DictConfig, OmegaConf, open_dict

from hydraops.config.schemas import ProjectSpec
from hydraops.errors import ProjectError

#: The primary config every project has: ``conf/config.yaml``.
CONFIG_NAME = "config"


def find_conf_dir(project_dir: Path | str = ".") -> Path:
    """The project's ``conf/`` folder; a ProjectError naming what was looked for when there is none."""
    conf_dir = Path(project_dir).resolve() / "conf"
    if not (conf_dir / f"{CONFIG_NAME}.yaml").is_file():
        raise ProjectError(
            f"no hydraops project in {Path(project_dir).resolve()}: expected {conf_dir}/{CONFIG_NAME}.yaml "
            "(run inside a project, pass -cd PATH/conf, or create one with `hydraops init NAME`)"
        )
    return conf_dir


@contextmanager
def composing(project_dir: Path | str = ".", overrides: Sequence[str] = ()) -> Iterator[DictConfig]:
    """Compose ``conf/config.yaml`` of a project with Hydra overrides, as the CLI would.

    Inside the block Hydra stays initialised (so errors can be traced to files); ``${hydra:...}``
    interpolations resolve, with ``hydra.runtime.cwd`` the project folder.
    """
    import yaml
    from hydra import compose, initialize_config_dir
    from hydra.core.hydra_config import HydraConfig

    from hydraops.config.guard import install
    from hydraops.config.origins import explain_yaml_error

    conf_dir = find_conf_dir(project_dir)
    install()  # the hydra node is checked as the CLI checks it
    with initialize_config_dir(str(conf_dir), version_base="1.3", job_name="hydraops"):
        try:
            cfg = compose(CONFIG_NAME, overrides=list(overrides), return_hydra_config=True)
        except yaml.YAMLError as error:
            raise explain_yaml_error(error) from error
        cfg.hydra.runtime.cwd = str(conf_dir.parent)
        HydraConfig.instance().set_config(cfg)
        with open_dict(cfg):
            del cfg["hydra"]
        yield cfg


def compose_project(project_dir: Path | str = ".", overrides: Sequence[str] = ()) -> DictConfig:
    """The composed config of a project (not yet validated)."""
    with composing(project_dir, overrides) as cfg:
        return cfg


def load_spec(project_dir: Path | str = ".", overrides: Sequence[str] = ()) -> ProjectSpec:
    """Compose and validate as ``hydraops validate`` does: the typed spec, or a ConfigError."""
    from hydraops.config.origins import Origins
    from hydraops.config.validate import validate_config

    with composing(project_dir, overrides) as cfg:
        return validate_config(cfg, Origins.from_hydra())


def to_spec(cfg: DictConfig) -> ProjectSpec:
    """The typed spec of a composed config (the ``hydra`` node, if any, is left out)."""
    cfg = cfg.copy()
    if "hydra" in cfg:
        with open_dict(cfg):
            del cfg["hydra"]
    spec = OmegaConf.to_object(cfg)
    assert isinstance(spec, ProjectSpec)
    return spec
