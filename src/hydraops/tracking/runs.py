"""MLflow runs that always end in a final state: FINISHED, FAILED (with the error) or KILLED (Ctrl-C,
SIGTERM) — or, when the process dies or the store goes away first, KILLED by the next command (owners).

Every call goes through the ``client`` passed in (``Tracking.client``): no active run, no process-wide URI.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from hydraops.errors import TrackingError, interrupt_within
from hydraops.tracking import tags as T
from hydraops.tracking.connection import one_attempt
from hydraops.tracking.owners import owner_tags


def ensure_experiment(client, name: str, artifact_location: str | None) -> str:
    """The id of experiment ``name``, created (with its artifact location) when missing."""
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


def experiment_for_runs(client, name: str, artifact_location: str | None) -> str:
    """:func:`ensure_experiment` for a command about to open runs in it: first, its runs left RUNNING by
    processes that have exited are marked KILLED (:mod:`hydraops.tracking.owners`), said in one line on stderr."""
    import sys

    from hydraops.tracking.owners import end_runs_of_dead_owners, ended_message

    experiment_id = ensure_experiment(client, name, artifact_location)
    if ended := end_runs_of_dead_owners(client, experiment_id):
        print(ended_message(ended), file=sys.stderr)
    return experiment_id


@contextmanager
def tracked_run(client, experiment_id: str, run_name: str, tags: Mapping[str, str]) -> Iterator:
    """Create a run owned by this process (:mod:`hydraops.tracking.owners`) and yield it (an MLflow ``Run``);
    leave it FINISHED, FAILED (error recorded as a tag) or KILLED, never RUNNING. When the body fails and the
    run cannot be ended either (the store is gone), the body's error is the one raised, with a note saying so."""
    deferred = _defer_interrupts()  # Ctrl-C or SIGTERM while the run is created would leave it RUNNING
    try:
        run = client.create_run(experiment_id, run_name=run_name, tags={**owner_tags(), **tags})
    except BaseException:
        _resume_interrupts(deferred)
        raise
    run_id = run.info.run_id
    try:
        _resume_interrupts(deferred)  # one that came meanwhile is raised here, inside: the run ends KILLED
        yield run
    except BaseException as error:
        interrupt = interrupt_within(error)  # Ctrl-C or SIGTERM (a KeyboardInterrupt), maybe turned by a library into its own error
        if interrupt is not None:
            _end_after_failure(client, run_id, "KILLED", str(interrupt) or "interrupted (KeyboardInterrupt)", error)
        else:
            _end_after_failure(client, run_id, "FAILED", f"{type(error).__name__}: {error}"[:8000], error)
        raise
    else:
        try:
            client.set_terminated(run_id, "FINISHED")
        except Exception as error:
            error.add_note(_not_ended(run_id, "FINISHED", error))
            raise


def _defer_interrupts() -> object:
    """Block SIGINT and SIGTERM in this thread (they stay pending); what :func:`_resume_interrupts` restores."""
    import signal

    if not hasattr(signal, "pthread_sigmask"):
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})


def _resume_interrupts(deferred: object) -> None:
    """Restore the signal mask: a pending Ctrl-C or SIGTERM is delivered now."""
    import signal

    if deferred is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, deferred)


def _end_after_failure(client, run_id: str, status: str, reason: str, error: BaseException) -> None:
    """Record why and end the run, trying each request once; if the store does not answer, note on ``error``
    that the run stays RUNNING until a later command marks it KILLED."""
    with one_attempt():
        try:
            try:
                client.set_tag(run_id, T.ERROR, reason)
            finally:
                client.set_terminated(run_id, status)
        except Exception as cleanup:  # noqa: BLE001 - noted on the error being raised
            error.add_note(_not_ended(run_id, status, cleanup))


def _not_ended(run_id: str, status: str, error: Exception) -> str:
    return f"the run {run_id} could not be ended {status} ({type(error).__name__}); it stays RUNNING until the next hydraops train marks it KILLED"


__all__ = ["TrackingError", "ensure_experiment", "experiment_for_runs", "tracked_run"]
