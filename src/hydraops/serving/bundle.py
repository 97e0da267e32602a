"""The bundle of a registered version, built into a bento in the project's bento store (``stack.bento_home``).

    context = prepare_context(directory, serving_spec, verified_model_dir, tag)   # serving.json, model/, bentofile.yaml
    build_bento(context, bento_home)                                              # checked again, then `bentoml build`

A build context is one directory: ``serving.json`` (the ServingSpec), ``model/`` (the registered version's
MLflow model folder, copied verbatim and checked against its sha256) and ``bentofile.yaml`` (the generic
service, those files, the running packages pinned, labels naming the model). The bento's ``src/`` is exactly
that directory; the service reads ``./serving.json`` and ``./model`` from it. ``bentoml`` always runs as a
subprocess whose environment names the store (``BENTOML_HOME``): our own process's environment is not changed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from hydraops.errors import ModelIntegrityError, ServingError
from hydraops.serving.spec import FILE, ModelRef, ServingSpec

#: The one generic service every bundle runs (``module:attribute``).
SERVICE = "hydraops.serving.service:Service"
#: Packages a bundle needs besides hydraops' own requirements: each pinned to the version running here.
BUNDLE_PACKAGES = ("lightgbm", "scikit-learn", "skops", "pandas", "pyarrow", "bentoml", "redis")
BENTOFILE = "bentofile.yaml"
MODEL_DIR = "model"
SHADOW_DIR = "shadow"  # deploy.shadow's version (hydraops.serving.shadow)
#: Suffixes of pickle files: none may be in a bundle.
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".cloudpickle", ".dill")


def bento_name(project: str) -> str:
    """The bento's name: the project's, lowercased, in BentoML's alphabet (letters, digits, ``-_.``)."""
    name = re.sub(r"[^a-z0-9_.-]+", "-", project.lower()).strip("-_.")
    return name or "hydraops"


def bento_tag(project: str, version: str, config_digest: str, shadow_version: str | None = None) -> str:
    """``<project>:<model version>[-s<shadow version>]-<config digest[:12]>``: the same version (and shadow
    version) under the same config is the same bento."""
    shadow = f"-s{shadow_version}" if shadow_version else ""
    return f"{bento_name(project)}:{version}{shadow}-{(config_digest or 'noconfig')[:12]}"


def bento_dir(bento_home: str | os.PathLike, tag: str) -> Path:
    """Where BentoML's local store keeps the bento ``tag`` (``<home>/bentos/<name>/<version>``)."""
    name, _, version = tag.partition(":")
    return Path(bento_home) / "bentos" / name / version


def is_built(bento_home: str | os.PathLike, tag: str) -> bool:
    """Whether the store holds the bento ``tag`` (its ``bento.yaml`` is written last)."""
    return (bento_dir(bento_home, tag) / "bento.yaml").is_file()


def dockerfile(bento_home: str | os.PathLike, tag: str) -> Path:
    """The Dockerfile BentoML generated into the bento at build time."""
    return bento_dir(bento_home, tag) / "env" / "docker" / "Dockerfile"


def prepare_context(directory: Path, serving: ServingSpec, model_dir: Path, tag: str, *, shadow_dir: Path | None = None,
                    service: str = SERVICE, extra_include: Sequence[str] = ()) -> Path:  # fmt: skip
    """A fresh build context in ``directory``: ``model/`` copied from ``model_dir`` (checked against
    ``serving.model``'s sha256 after the copy), ``shadow/`` from ``shadow_dir`` when the spec has a shadow
    (checked alike), ``serving.json`` and ``bentofile.yaml``. ``service`` and ``extra_include`` let a test
    build a stand-in service kept in the context."""
    import yaml

    from hydraops.tracking.model_load import verified_folder

    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    shutil.copytree(model_dir, directory / MODEL_DIR, symlinks=True)
    verified_folder(_uri(serving.model), directory / MODEL_DIR, serving.model.sha256, serving.model.flavor)
    if serving.shadow is not None:
        shutil.copytree(shadow_dir, directory / SHADOW_DIR, symlinks=True)
        verified_folder(_uri(serving.shadow.model), directory / SHADOW_DIR, serving.shadow.model.sha256, serving.shadow.model.flavor)
    (directory / FILE).write_text(serving.to_json() + "\n")
    content = bentofile(serving, tag, service=service, extra_include=extra_include)
    (directory / BENTOFILE).write_text(yaml.safe_dump(content, sort_keys=False))
    return directory


def bentofile(serving: ServingSpec, tag: str, *, service: str = SERVICE, extra_include: Sequence[str] = ()) -> dict:
    """The bentofile: the service, the bundle's files, the running packages pinned (no lock: the pins are
    the environment the model was checked in), labels naming the model."""
    python: dict = {"packages": pinned_packages(), "lock_packages": False}
    wheel = _own_wheel_hint()
    if wheel:
        python["wheels"] = [wheel]
    return {
        "service": service,
        "name": tag.partition(":")[0],
        "labels": labels(serving.model) | (shadow_labels(serving.shadow.model) if serving.shadow else {}),
        "include": [FILE, f"{MODEL_DIR}/**", *([f"{SHADOW_DIR}/**"] if serving.shadow else []), *extra_include],
        "python": python,
    }


def labels(model: ModelRef) -> dict[str, str]:
    """The bento's labels: which model, version, run, config and commit it serves."""
    return {
        "model-name": model.name, "model-version": model.version, "run-id": model.run_id, "alias": model.alias or "",
        "config-digest": model.config_digest, "git-commit": model.git_commit or "unknown", "flavor": model.flavor,
    }  # fmt: skip


def shadow_labels(model: ModelRef) -> dict[str, str]:
    """The labels of a bento with a shadow: its version, alias and run."""
    return {"shadow-model-version": model.version, "shadow-alias": model.alias or "", "shadow-run-id": model.run_id}


def pinned_packages() -> list[str]:
    """hydraops' own requirements and :data:`BUNDLE_PACKAGES`, each ``name[extras]==<installed version>``,
    plus hydraops itself when it is installed from an index (an editable checkout ships as a wheel instead)."""
    from importlib.metadata import PackageNotFoundError, requires
    from importlib.metadata import version as installed

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    wanted: dict[str, str] = {}
    for text in requires("hydraops") or []:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue  # an extra's requirement (dev, testing): not needed to serve
        wanted[canonicalize_name(requirement.name)] = requirement.name + (f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else "")
    for name in BUNDLE_PACKAGES:
        wanted.setdefault(canonicalize_name(name), name)
    pins = []
    for key, spelled in sorted(wanted.items()):
        try:
            pins.append(f"{spelled}=={installed(key)}")
        except PackageNotFoundError:
            raise ServingError(f"package {key} is needed in a bundle but is not installed here: install it, then build again") from None
    if _editable_root() is None:
        pins.append(f"hydraops=={installed('hydraops')}")
    return pins


def build_bento(directory: Path, bento_home: str | os.PathLike, *, version: str | None = None) -> str:
    """Check the context again (the model's files against ``serving.json``'s sha256 and flavor, no pickle
    anywhere), then ``bentoml build`` it into the store ``bento_home``; the bento's tag."""
    from hydraops.tracking.model_load import verified_folder

    serving = ServingSpec.from_json((directory / FILE).read_text())
    refuse_pickle(directory)
    verified_folder(_uri(serving.model), directory / MODEL_DIR, serving.model.sha256, serving.model.flavor)
    if serving.shadow is not None:
        verified_folder(_uri(serving.shadow.model), directory / SHADOW_DIR, serving.shadow.model.sha256, serving.shadow.model.flavor)
    shadow_version = serving.shadow.model.version if serving.shadow else None
    tag_version = version or bento_tag(serving.project, serving.model.version, serving.model.config_digest, shadow_version).partition(":")[2]
    wheel = _own_wheel_hint()
    if wheel:
        _build_own_wheel(directory / wheel)
    done = run_bentoml(["build", "--output", "tag", "--version", tag_version, str(directory)], bento_home, cwd=directory, timeout=600)
    if done.returncode != 0:
        raise ServingError(f"`bentoml build` of {directory} failed (exit {done.returncode}):\n{_tail(done.stderr or done.stdout)}")
    found = re.search(r"__tag__:(\S+)", done.stdout)
    return found.group(1) if found else f"{bento_name(serving.project)}:{tag_version}"


def refuse_pickle(directory: Path) -> None:
    """ModelIntegrityError naming the first file under ``directory`` that is a pickle (by suffix or content)."""
    for path in sorted(directory.rglob("*")):
        if not path.is_file():
            continue
        with path.open("rb") as handle:
            head = handle.read(2)
        if path.suffix.lower() in PICKLE_SUFFIXES or (len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5):
            raise ModelIntegrityError(f"{path} is a pickle: a bundle carries no pickle; refusing to build it", path=str(path))


def run_bentoml(args: Sequence[str], bento_home: str | os.PathLike, *, cwd: Path | None = None, timeout: float | None = None,
                env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess:  # fmt: skip
    """``bentoml <args>`` with the running Python, the store ``bento_home``, usage tracking off; its output captured."""
    return subprocess.run(bentoml_command(args), cwd=cwd, env=bentoml_env(bento_home, env), capture_output=True, text=True, timeout=timeout)


def bentoml_command(args: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "bentoml", *args]


def bentoml_env(bento_home: str | os.PathLike, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a ``bentoml`` subprocess: ours, plus its store and no usage tracking."""
    return {**os.environ, "BENTOML_HOME": str(Path(bento_home).resolve()), "BENTOML_DO_NOT_TRACK": "True", **(extra or {})}


def bento_info(bento_home: str | os.PathLike, tag: str) -> dict:
    """The bento's ``bento.yaml`` as a mapping (labels, entry service, creation time)."""
    import yaml

    return yaml.safe_load((bento_dir(bento_home, tag) / "bento.yaml").read_text())


def _uri(model: ModelRef) -> str:
    return f"models:/{model.name}/{model.version}"


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _editable_root() -> Path | None:
    """The checkout hydraops runs from when it is not installed from an index (it has a pyproject.toml)."""
    import hydraops

    root = Path(hydraops.__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() and (root / "src" / "hydraops").is_dir() else None


def _own_wheel_hint() -> str | None:
    """Where in the build context hydraops' own wheel goes when it runs from a checkout (None otherwise)."""
    from importlib.metadata import version

    return f"wheels/hydraops-{version('hydraops')}-py3-none-any.whl" if _editable_root() is not None else None


def _build_own_wheel(target: Path) -> None:
    """hydraops' wheel, built from the checkout it runs from (no network: the backend installed here)."""
    root = _editable_root()
    target.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(target.parent), str(root)],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    built = sorted(target.parent.glob("hydraops-*.whl"))
    if done.returncode != 0 or not built:
        raise ServingError(f"could not build hydraops' wheel from {root} for the bundle:\n{_tail(done.stderr or done.stdout)}")
    if built[-1] != target:
        built[-1].rename(target)


__all__ = ["BENTOFILE", "SERVICE", "bento_dir", "bento_tag", "bentofile", "build_bento", "dockerfile", "is_built", "labels",
           "pinned_packages", "prepare_context", "refuse_pickle", "run_bentoml"]  # fmt: skip
