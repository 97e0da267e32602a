"""A new embedded SQLite store, copied from an empty one: MLflow makes a store's tables by running every schema
migration since its first release (seconds, and every new project paid them on its first run). The empty store
depends only on the MLflow version, so it is made once per version in a cache folder and copied from there.

    seed_sqlite_store(Path("artifacts/mlflow.db"), default_store_cache())   # True: copied; False: left to MLflow

The copy holds the schema and nothing of its own (no experiment: MLflow adds its Default experiment, with this
store's artifact root, when it first opens the copy). Without a writable cache folder MLflow creates the store
itself, as before.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = ["default_store_cache", "seed_sqlite_store"]


def default_store_cache() -> Path:
    """Where the empty stores are kept: ``~/.cache/hydraops/mlflow-stores``."""
    return Path.home() / ".cache" / "hydraops" / "mlflow-stores"


def seed_sqlite_store(path: Path, cache: Path) -> bool:
    """Create the store file ``path`` (and its folders) as a copy of the cached empty store of the installed
    MLflow; made in ``cache`` first when missing. False, and nothing written at ``path``, when ``path`` exists
    already, the cache folder cannot be written or this MLflow has no ``_initialize_tables``."""
    if path.exists():
        return False
    try:
        empty = _empty_store(cache)
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f".{path.name}.{os.getpid()}.seed")
        shutil.copyfile(empty, staging)
    except (OSError, ImportError):  # ImportError: an MLflow without the (private) function that migrates
        return False
    try:
        os.link(staging, path)  # appears whole or not at all; a store another process made first is kept
    except OSError:
        return False
    finally:
        staging.unlink(missing_ok=True)
    return True


def _empty_store(cache: Path) -> Path:
    """``<cache>/<MLflow version>.db``: MLflow's tables, migrated to its latest schema, without rows of a store."""
    from mlflow.version import VERSION

    empty = cache / f"mlflow-{VERSION}.db"
    if empty.is_file():
        return empty
    cache.mkdir(parents=True, exist_ok=True)
    staging = cache / f".{empty.name}.{os.getpid()}.tmp"
    try:
        _migrate(staging)
        os.replace(staging, empty)  # concurrent makers each write a whole file; the last one stays
    finally:
        staging.unlink(missing_ok=True)
    return empty


def _migrate(path: Path) -> None:
    from mlflow.store.db.utils import _initialize_tables, create_sqlalchemy_engine_with_retry

    engine = create_sqlalchemy_engine_with_retry(f"sqlite:///{path}")
    try:
        _initialize_tables(engine)
    finally:
        engine.dispose()
