"""A lock per registered model, kept in the registry itself, so promoters on different machines exclude each other.

The lock is a registered model named ``hydraops-lock.<model>``: creating a registered model is atomic in
every MLflow store (the name is the primary key of a table, on SQLite and on PostgreSQL behind a server),
so exactly one of two racing ``create_registered_model`` calls succeeds. Its tags name the holder
(user, host, pid) and when its lease ends. A lock whose holder is a dead process on this host, or whose
lease ended, is stale: the next promoter removes it and takes the lock (a crashed promotion never blocks
the model for longer than the lease). A lock without (readable) holder tags, made by hand or by another
tool, has a lease too: the one the waiting promoter would take (``LEASE_S``), counted from the lock's creation.

    with registry_lock(client, "churn") as lock:
        ...  # re-read the aliases, move them, write the audit log
"""

from __future__ import annotations

import getpass
import os
import random
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from hydraops.errors import RegistryConflict
from hydraops.tracking import tags as T

LOCK_PREFIX = "hydraops-lock."
LEASE_S = 120.0


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, and until when."""

    token: str
    who: str
    host: str
    pid: int
    expires_at: float

    def to_tags(self) -> dict[str, str]:
        return {T.LOCK_TOKEN: self.token, T.LOCK_WHO: self.who, T.LOCK_HOST: self.host,
                T.LOCK_PID: str(self.pid), T.LOCK_EXPIRES_AT: f"{self.expires_at:.3f}"}  # fmt: skip

    @classmethod
    def from_tags(cls, tags: dict[str, str]) -> Holder | None:
        try:
            return cls(tags[T.LOCK_TOKEN], tags[T.LOCK_WHO], tags[T.LOCK_HOST],
                       int(tags[T.LOCK_PID]), float(tags[T.LOCK_EXPIRES_AT]))  # fmt: skip
        except (KeyError, ValueError):
            return None  # tags not written yet (creation and tags are one call, but be safe) or hand-made

    @classmethod
    def untagged(cls, created_ms: int | None, lease_s: float) -> Holder:
        """The holder of a lock that names none: unknown, with a lease counted from the lock's creation."""
        return cls("", "an unknown holder (the lock has no holder tags)", "", 0, (created_ms or 0) / 1000 + lease_s)

    def stale(self, now: float) -> bool:
        return now > self.expires_at or (self.host == socket.gethostname() and not _alive(self.pid))

    def __str__(self) -> str:
        until = datetime.fromtimestamp(self.expires_at, UTC).isoformat(timespec="seconds")
        where = f"pid {self.pid} on {self.host}, " if self.host else ""
        return f"{self.who} ({where}lease until {until})"


def default_actor() -> str:
    """``user@host``: who acts when the caller names no one (the CLI takes ``HYDRAOPS_ACTOR``, a CI job's name)."""
    return f"{getpass.getuser()}@{socket.gethostname()}"


def lock_name(model: str) -> str:
    return f"{LOCK_PREFIX}{model}"


def is_lock(name: str) -> bool:
    return name.startswith(LOCK_PREFIX)


@contextmanager
def registry_lock(client, model: str, *, who: str = "", wait_s: float = 30.0, lease_s: float = LEASE_S) -> Iterator[Holder]:
    """Hold the model's lock for the ``with`` block, in the name of ``who`` (default: ``user@host``);
    ``RegistryConflict`` if another holder keeps it past ``wait_s``."""
    holder = acquire(client, model, who=who, wait_s=wait_s, lease_s=lease_s)
    try:
        yield holder
    finally:
        release(client, model, holder)


def acquire(client, model: str, *, who: str = "", wait_s: float, lease_s: float) -> Holder:
    from mlflow.exceptions import MlflowException

    name = lock_name(model)
    holder = Holder(uuid.uuid4().hex, who or default_actor(), socket.gethostname(), os.getpid(), time.time() + lease_s)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            client.create_registered_model(name, tags=holder.to_tags(), description=f"hydraops: {model} is being promoted")
            return holder
        except MlflowException as error:
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        current = _holder(client, name, lease_s)
        if current is not None and current.stale(time.time()):
            _remove(client, name)
            continue
        if time.monotonic() > deadline:
            raise RegistryConflict(f"model '{model}' is locked by {current or 'another promoter'}: the registered model '{name}'; "
                                   "try again later, or delete that registered model if no promotion is running")  # fmt: skip
        time.sleep(random.uniform(0.05, 0.25))


def release(client, model: str, holder: Holder) -> None:
    """Remove the lock if it is still ours (a lease that ran out may have been taken over)."""
    name = lock_name(model)
    current = _holder(client, name, LEASE_S)
    if current is not None and current.token == holder.token:
        _remove(client, name)


def _holder(client, name: str, lease_s: float) -> Holder | None:
    from mlflow.exceptions import MlflowException

    try:
        lock = client.get_registered_model(name)
    except MlflowException:
        return None  # released meanwhile
    return Holder.from_tags(dict(lock.tags)) or Holder.untagged(lock.creation_timestamp, lease_s)


def _remove(client, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.delete_registered_model(name)
    except MlflowException as error:
        if error.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
