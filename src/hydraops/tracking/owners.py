"""Who owns a run: every run hydraops opens records its process (host, pid, start time), so that a later
command can end the runs whose process died (SIGKILL, a crash, a tracking server that went away before the
run could be ended) as KILLED instead of leaving them RUNNING forever."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from hydraops.tracking.tags import ERROR as ERROR_TAG
from hydraops.tracking.tags import OWNER_HOST as OWNER_HOST_TAG
from hydraops.tracking.tags import OWNER_PID as OWNER_PID_TAG

# The owner's start time (Linux: clock ticks since boot, /proc/<pid>/stat), so a reused pid is not
# mistaken for the owner; empty where the platform does not say.
from hydraops.tracking.tags import OWNER_STARTED as OWNER_STARTED_TAG


def owner_tags() -> dict[str, str]:
    """The tags naming this process as a run's owner."""
    pid = os.getpid()
    return {OWNER_HOST_TAG: socket.gethostname(), OWNER_PID_TAG: str(pid), OWNER_STARTED_TAG: _stat(pid)[1]}


def owner_is_gone(tags: dict[str, str]) -> bool:
    """Whether the run's owner, a process on this host, has exited (False for another host's or unknown)."""
    if tags.get(OWNER_HOST_TAG) != socket.gethostname() or not tags.get(OWNER_PID_TAG, "").isdigit():
        return False
    pid = int(tags[OWNER_PID_TAG])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        pass
    state, started = _stat(pid)
    recorded = tags.get(OWNER_STARTED_TAG, "")
    return state == "Z" or bool(recorded and started and recorded != started)  # a zombie, or the pid was reused


def end_runs_of_dead_owners(client, experiment_id: str) -> list[str]:
    """Mark KILLED every RUNNING run of the experiment whose owner was a process on this host that has
    exited; returns their ids. Runs of live processes, of other hosts, and without owner tags are left alone."""
    host = socket.gethostname().replace("'", "")
    running = client.search_runs([experiment_id], f"attributes.status = 'RUNNING' and tags.`{OWNER_HOST_TAG}` = '{host}'", max_results=1000)
    ended = []
    for run in running:
        tags = run.data.tags
        if not owner_is_gone(tags):
            continue
        reason = f"owner process {tags[OWNER_PID_TAG]} on {tags[OWNER_HOST_TAG]} exited before ending the run; marked KILLED by process {os.getpid()}"
        client.set_tag(run.info.run_id, ERROR_TAG, reason)
        client.set_terminated(run.info.run_id, "KILLED")
        ended.append(run.info.run_id)
    return ended


def ended_message(run_ids: list[str]) -> str:
    """One line saying which runs of dead processes were marked KILLED."""
    count = len(run_ids)
    return f"marked {count} run{'s' if count != 1 else ''} of exited processes KILLED (left RUNNING by a crash or a kill): {', '.join(run_ids)}"


def _stat(pid: int) -> tuple[str, str]:
    """The process's state and start time in clock ticks since boot (fields 3 and 22 of /proc/<pid>/stat);
    empty strings where /proc does not say."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "", ""
    fields = stat[stat.rfind(")") + 2 :].split()  # after "pid (comm) ": field 3 onwards
    return (fields[0], fields[19]) if len(fields) > 19 else ("", "")


__all__ = ["ERROR_TAG", "OWNER_HOST_TAG", "OWNER_PID_TAG", "OWNER_STARTED_TAG", "end_runs_of_dead_owners", "ended_message", "owner_is_gone", "owner_tags"]
