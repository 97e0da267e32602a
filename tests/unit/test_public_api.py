"""The public namespaces say what they export: ``__all__`` of hydraops and hydraops.testing is honest."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import pytest

PUBLIC = ("hydraops", "hydraops.testing")


def defined_public_names(module_name: str) -> set[str]:
    """Public classes and functions of hydraops found in the module's namespace (submodules excluded)."""
    module = importlib.import_module(module_name)
    names = set()
    for name in dir(module):
        value = getattr(module, name)
        if name.startswith("_") or inspect.ismodule(value):
            continue
        if (inspect.isclass(value) or inspect.isfunction(value)) and value.__module__.startswith("hydraops"):
            names.add(name)
    return names


@pytest.mark.parametrize("module_name", PUBLIC)
def test_every_listed_name_is_importable(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert len(module.__all__) == len(set(module.__all__)), "a name is listed twice"
    for name in module.__all__:
        assert getattr(module, name) is not None
        exec(f"from {module_name} import {name}", {})


@pytest.mark.parametrize("module_name", PUBLIC)
def test_every_public_class_and_function_is_listed(module_name: str) -> None:
    module = importlib.import_module(module_name)
    unlisted = defined_public_names(module_name) - set(module.__all__)
    assert not unlisted, f"public in {module_name} but not in its __all__: {sorted(unlisted)}"


def test_hydraops_testing_needs_pytest_only_for_the_contract() -> None:
    """hydraops itself never imports hydraops.testing, and hydraops.testing imports pytest only on demand."""
    code = (
        "import sys, hydraops, hydraops.features, hydraops.features.online\n"
        "assert 'hydraops.testing' not in sys.modules\n"
        "from hydraops.testing import InMemoryOnlineStore, churn_project\n"
        "assert 'pytest' not in sys.modules, 'hydraops.testing imported pytest'\n"
        "from hydraops.testing import OnlineStoreContract\n"
        "assert 'pytest' in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
