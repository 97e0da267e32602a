"""MLflow runs that always end in a final state: FINISHED, FAILED (with the error) or KILLED (Ctrl-C)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from hydraops.config.schemas import StackSpec
from hydraops.errors import TrackingError


def connect(stack: StackSpec) -> None:
    """Point MLflow at the stack's tracking and registry URIs; a TrackingError when a server is unreachable."""
    import os

    import mlflow

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no progress bars in our output
    if stack.tracking_uri.startswith(("http://", "https://")):
        import requests

        try:
            requests.get(stack.tracking_uri.rstrip("/") + "/health", timeout=5).raise_for_status()
        except requests.RequestException as error:
            raise TrackingError(
                f"MLflow tracking server {stack.tracking_uri} (stack.tracking_uri) is unreachable: {error}; "
                "start one (mlflow server --backend-store-uri postgresql://127.0.0.1:5432/test --host 127.0.0.1 --port 5000) or use stack=local"
            ) from error
    mlflow.set_tracking_uri(stack.tracking_uri)
    mlflow.set_registry_uri(stack.registry_uri or stack.tracking_uri)


def ensure_experiment(name: str, artifact_location: str | None) -> str:
    """The id of experiment ``name``, created (with its artifact location) when missing."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    try:
        return client.create_experiment(name, artifact_location=artifact_location)
    except Exception:  # created meanwhile by a parallel job
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise
        return experiment.experiment_id


@contextmanager
def tracked_run(experiment_id: str, run_name: str, tags: Mapping[str, str], *, nested: bool = False) -> Iterator:
    """Start a run; leave it FINISHED, FAILED (error recorded as a tag) or KILLED, never RUNNING."""
    import mlflow

    run = mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=dict(tags), nested=nested)
    try:
        yield run
    except KeyboardInterrupt:
        mlflow.set_tag("hydraops.error", "interrupted (KeyboardInterrupt)")
        mlflow.end_run("KILLED")
        raise
    except BaseException as error:
        mlflow.set_tag("hydraops.error", f"{type(error).__name__}: {error}"[:8000])
        mlflow.end_run("FAILED")
        raise
    else:
        mlflow.end_run("FINISHED")
