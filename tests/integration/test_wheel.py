"""The wheel carries the config library, the search-path plugin and the templates: a project composes
with a wheel install exactly as with the editable one."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO, copy_project

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(REPO)],
        check=True, capture_output=True,
    )  # fmt: skip
    return next(out.glob("hydraops-*.whl"))


def test_wheel_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "hydraops/conf/hydraops.yaml" in names
    assert "hydraops/conf/model/lightgbm.yaml" in names
    assert "hydra_plugins/hydraops_searchpath/__init__.py" in names
    assert "hydraops/projects/churn/copier.yml" in names
    assert "hydraops/projects/churn/conf/config.yaml" in names
    assert "hydraops/projects/trips/copier.yml" in names
    assert "hydraops/projects/trips/conf/features/trips.yaml" in names
    assert not any(name.startswith(("hydraops/projects/churn/data/", "hydraops/projects/trips/data/")) for name in names), "generated data never ships"


def test_wheel_install_composes_a_project(wheel: Path, tmp_path: Path) -> None:
    """A fresh venv with the wheel (dependencies borrowed from this one, not the editable source)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.check_output([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], text=True).strip())
    # Our site-packages as a plain path entry: its .pth files (the editable install) are not processed.
    (site / "borrowed_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True)

    project = copy_project("churn", tmp_path / "churn")
    where = subprocess.check_output(
        [python, "-c", "from hydraops._resources import packaged_dir; print(packaged_dir('conf'))"], cwd=tmp_path, text=True
    ).strip()
    assert where.startswith(str(site)), f"the wheel's conf/ is used, not the source tree's: {where}"
    result = subprocess.run([venv / "bin" / "hydraops", "validate"], cwd=project, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "project 'churn' is valid" in result.stdout

    init = subprocess.run(
        [venv / "bin" / "hydraops", "init", "fresh"], cwd=tmp_path, capture_output=True, text=True,
        env={"HYDRAOPS_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert init.returncode == 0, init.stderr
    result = subprocess.run([venv / "bin" / "hydraops", "validate"], cwd=tmp_path / "fresh", capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
