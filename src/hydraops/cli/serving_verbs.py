"""``hydraops build``, ``serve`` and ``containerize``: the bundle verbs, once the config is composed."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess

from omegaconf import DictConfig

from hydraops.cli.hydra_app import Options
from hydraops.cli.output import console
from hydraops.config.schemas import ProjectSpec
from hydraops.errors import ServingError

#: Container engines ``bentoml containerize`` can drive, in the order they are looked for.
ENGINES = ("docker", "podman", "buildah")


def build(spec: ProjectSpec, cfg: DictConfig, options: Options) -> None:
    """The serving stage for ``alias`` (default ``deploy.alias``): a skip when the store holds its bento."""
    from hydraops.cli.acting import carry_out
    from hydraops.cli.context import job_context
    from hydraops.plan.model import Outcome

    as_json, dry_run = bool(options.get("json")), options.get("dry_run", False)
    serving = {"alias": options.get("alias"), "required": True}
    plan, results = carry_out(job_context(spec, cfg), ["serving"], {"serving": serving}, dry_run=dry_run, as_json=as_json)
    if dry_run or as_json:
        return
    (action,) = plan.actions
    if not results or results[0].outcome is Outcome.skipped:
        console().print(f"up to date: bento {action.tag} is in {spec.stack.bento_home}")


def serve(spec: ProjectSpec, cfg: DictConfig, options: Options) -> None:
    """``bentoml serve`` of the alias's bento on ``deploy.service.host`` and its port (``port=N`` overrides it),
    ``deploy.service.workers`` worker processes; SIGTERM and SIGINT are passed on and waited for."""
    from hydraops.serving import bundle

    tag = _built_tag(spec, cfg, options.get("alias"))
    service = spec.deploy.service
    port = options.get("port") or service.port
    entry = bundle.bento_info(spec.stack.bento_home, tag).get("entry_service") or "Service"
    overrides = {"BENTOML_CONFIG_OVERRIDES": json.dumps({"services": {entry: {"workers": service.workers}}})}
    command = bundle.bentoml_command(["serve", tag, "--host", service.host, "--port", str(port)])
    console().print(f"serving {tag} on http://{service.host}:{port} ({service.workers} worker(s)); Ctrl-C or SIGTERM stops it", highlight=False)
    child = subprocess.Popen(command, env=bundle.bentoml_env(spec.stack.bento_home, overrides), start_new_session=True)
    try:
        code = child.wait()
    except KeyboardInterrupt as interrupt:  # SIGINT, or SIGTERM (cli.Terminated): the child stops the same way
        from hydraops.cli import Terminated

        child.send_signal(signal.SIGTERM if isinstance(interrupt, Terminated) else signal.SIGINT)
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        raise
    if code != 0:
        raise ServingError(f"`bentoml serve {tag}` exited with status {code}")


def containerize(spec: ProjectSpec, cfg: DictConfig, options: Options) -> None:
    """``bentoml containerize`` of the alias's bento with the first working container engine; without one,
    exit 2 naming the Dockerfile BentoML generated into the bento (build it elsewhere)."""
    from hydraops.serving import bundle

    tag = _built_tag(spec, cfg, options.get("alias"))
    dockerfile = bundle.dockerfile(spec.stack.bento_home, tag)
    engine = working_engine()
    if engine is None:
        raise ServingError(f"no container engine is available here ({', '.join(ENGINES)}: none on PATH answers); the bento {tag} "
                           f"is built and its generated Dockerfile is {dockerfile} (build context: {dockerfile.parents[2]})",
                           path=str(dockerfile), hint="run `hydraops containerize` where docker, podman or buildah runs")  # fmt: skip
    image = spec.deploy.image.tag if spec.deploy.image is not None else None
    args = ["containerize", tag, "--backend", engine] + (["--image-tag", image] if image else [])
    done = subprocess.run(bundle.bentoml_command(args), env=bundle.bentoml_env(spec.stack.bento_home))
    if done.returncode != 0:
        raise ServingError(f"`bentoml containerize {tag}` with {engine} failed (exit {done.returncode})")


def working_engine() -> str | None:
    """The first container engine on PATH that answers (a docker client without its daemon does not)."""
    for engine in ENGINES:
        path = shutil.which(engine)
        if path is None:
            continue
        probe = [path, "version"] if engine == "buildah" else [path, "info"]
        try:
            if subprocess.run(probe, capture_output=True, timeout=20).returncode == 0:
                return engine
        except (OSError, subprocess.TimeoutExpired):
            continue
    return None


def _built_tag(spec: ProjectSpec, cfg: DictConfig, alias: str | None) -> str:
    """The tag of the bento the alias's version has under this config; ServingError when it is not built."""
    from hydraops.cli.context import job_context
    from hydraops.serving.stage import plan

    (action,) = plan(spec, job_context(spec, cfg), alias=alias, required=True)
    if action.tag is None or action.effect.value != "skip":
        raise ServingError(f"no bento {action.tag} for {action.model} v{action.version} (@{action.alias}) under this config in "
                           f"{spec.stack.bento_home}", hint="run `hydraops build` first")  # fmt: skip
    return action.tag
