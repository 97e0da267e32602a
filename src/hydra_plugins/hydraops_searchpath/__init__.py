"""Puts the hydraops config library on every Hydra app's search path and registers its schemas."""

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin


class HydraopsSearchPathPlugin(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        from hydraops._resources import packaged_dir
        from hydraops.config.store import register

        register()
        search_path.append(provider="hydraops", path=f"file://{packaged_dir('conf')}")
