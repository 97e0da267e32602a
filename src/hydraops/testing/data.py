"""Synthetic projects for tests: a copy of an example project, with seeded generated data.

project = churn_project(tmp_path / "churn", customers=600)   # conf/ + data/*.parquet, ~1 s
spec = hydraops.load_spec(project)
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

from hydraops._resources import packaged_dir
from hydraops.errors import ProjectError

__all__ = ["churn_project", "copy_example_project"]

#: Left out of every copy: generated data and run outputs.
_GENERATED = ("data", "outputs", "multirun", "artifacts", "mlruns", "__pycache__")


def copy_example_project(name: str, destination: Path | str) -> Path:
    """A copy of the example project ``name`` (``projects/<name>``, shipped in the wheel) at ``destination``,
    without generated data or outputs."""
    source = packaged_dir("projects") / name
    if not (source / "conf").is_dir():
        known = ", ".join(sorted(path.parent.name for path in packaged_dir("projects").glob("*/conf")))
        raise ProjectError(f"no example project '{name}'; expected one of: {known}")
    destination = Path(destination)
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns(*_GENERATED))
    return destination


def churn_project(destination: Path | str, customers: int = 600, *, months: int = 12, seed: int = 42, drift_after: str | None = None) -> Path:
    """A copy of the churn example at ``destination`` with ``customers`` customers of generated data in
    ``data/`` (parquet), as its ``generate_data.py`` writes them: equal arguments give identical files.
    ``drift_after`` (``YYYY-MM-DD``) makes the later data drift."""
    project = copy_example_project("churn", destination)
    _generator(project / "generate_data.py").generate(project / "data", customers, months, seed, drift_after)
    return project


def _generator(script: Path) -> ModuleType:
    """The project's generator, imported in this process (once per process: every copy is the same file)."""
    name = "_hydraops_churn_generate_data"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, script)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses resolve annotations through sys.modules
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return sys.modules[name]
