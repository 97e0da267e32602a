"""Test helpers for hydraops and for code built on it: fakes, contract suites, synthetic data.

    from hydraops.testing import InMemoryOnlineStore, OnlineStoreContract, churn_project

- ``InMemoryOnlineStore``: an OnlineStore in memory (also ``stack/online_store=memory``).
- ``OnlineStoreContract``: the online store contract as a pytest base class; the SQLite, Redis and
  in-memory stores inherit it, and so can yours (docs/reference/testing.md). Needs pytest, which hydraops
  itself does not: it is imported only when ``OnlineStoreContract`` is.
- ``churn_project`` / ``copy_example_project``: an example project with seeded generated data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hydraops.features.online.memory import InMemoryOnlineStore
from hydraops.testing.data import churn_project, copy_example_project

if TYPE_CHECKING:
    from hydraops.testing.online_store import OnlineStoreContract

__all__ = ["InMemoryOnlineStore", "OnlineStoreContract", "churn_project", "copy_example_project"]


def __getattr__(name: str) -> Any:
    if name == "OnlineStoreContract":  # imports pytest: only test code asks for it
        from hydraops.testing.online_store import OnlineStoreContract

        return OnlineStoreContract
    raise AttributeError(f"module 'hydraops.testing' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
