"""No run is left RUNNING for good: `hydraops train` stopped by SIGTERM ends its run KILLED (exit 143); a run
whose process was SIGKILLed, or whose tracking server went away, is marked KILLED by the next command; and a
server that dies mid-run fails the run in bounded time, reporting the first error and naming the config key."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import HYDRAOPS
from tests.prepared import Prepared

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    return Prepared.build(tmp_path_factory.mktemp("endings"), 600)


@pytest.fixture
def churn(prepared: Prepared, tmp_path: Path) -> Path:
    """A private copy of the project, features materialized: what is tested here starts after that."""
    return prepared.restore(tmp_path / "churn")


def start_train(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    environment = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"} | (env or {})
    return subprocess.Popen([HYDRAOPS, "train", *args, "debug=fast"], cwd=project, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


RUNNING = "SELECT run_uuid FROM runs WHERE status = 'RUNNING'"
RUNNING_CHILD = RUNNING + " AND run_uuid IN (SELECT run_uuid FROM tags WHERE key = 'mlflow.parentRunId')"


def running_run_in_store(project: Path, process: subprocess.Popen, query: str = RUNNING) -> str:
    """The id of the run the process opened, read from its SQLite store (plain sqlite3: opening the store
    with MLflow while the process migrates it would race) as soon as it is RUNNING."""
    database = project / "artifacts" / "mlflow.db"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"train ended before its run was seen: {process.returncode}\n{process.communicate()}")
        try:
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as connection:
                rows = connection.execute(query).fetchall()
        except sqlite3.Error:  # no file or no table yet, or locked for a moment
            rows = []
        if rows:
            return rows[0][0]
        time.sleep(0.05)
    pytest.fail("no run appeared within 240 s")


def store_client(project: Path):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{project}/artifacts/mlflow.db"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def test_sigterm_mid_run_ends_it_killed_and_exits_143(churn: Path) -> None:
    train = start_train(churn)
    run_id = running_run_in_store(churn, train)
    train.send_signal(signal.SIGTERM)
    out, err = train.communicate(timeout=120)
    assert train.returncode == 143, out + err
    assert "terminated (SIGTERM)" in err and "Traceback" not in err, err
    run = store_client(churn).get_run(run_id)
    assert run.info.status == "KILLED" and run.data.tags["hydraops.error"] == "terminated (SIGTERM)"
    assert run.data.tags["hydraops.owner.pid"] == str(train.pid)
    assert run.data.tags["hydraops.owner.host"] == socket.gethostname()


def test_sigterm_mid_sweep_ends_the_parent_and_the_open_child_killed(churn: Path) -> None:
    sweep = start_train(churn, "-m", "model.num_leaves=7,15,31")
    child_id = running_run_in_store(churn, sweep, RUNNING_CHILD)
    sweep.send_signal(signal.SIGTERM)
    out, err = sweep.communicate(timeout=120)
    assert sweep.returncode == 143, out + err
    client = store_client(churn)
    child = client.get_run(child_id)
    parent = client.get_run(child.data.tags["mlflow.parentRunId"])
    assert child.info.status == "KILLED" and child.data.tags["hydraops.error"] == "terminated (SIGTERM)"
    assert parent.info.status == "KILLED" and parent.data.tags["hydraops.owner.pid"] == str(sweep.pid)
    children = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    # Under load the first job may finish before its run is seen; whichever job was killed, none starts after it.
    later = [run.info.run_id for run in children if run.info.start_time > child.info.start_time]
    assert not later, f"jobs started after the sweep was terminated: {later}"


def test_a_sigkilled_run_is_marked_killed_by_the_next_train(churn: Path, hydraops) -> None:
    train = start_train(churn)
    run_id = running_run_in_store(churn, train)
    train.kill()
    train.communicate(timeout=60)
    assert store_client(churn).get_run(run_id).info.status == "RUNNING", "nothing could end it"
    after = hydraops("train", "debug=fast", cwd=churn)
    assert after.returncode == 0, after.stdout + after.stderr
    assert f"marked 1 run of exited processes KILLED (left RUNNING by a crash or a kill): {run_id}" in after.stderr
    killed = store_client(churn).get_run(run_id)
    assert killed.info.status == "KILLED" and killed.info.end_time
    assert killed.data.tags["hydraops.error"].startswith(f"owner process {train.pid} on {socket.gethostname()} exited")
    statuses = [r.info.status for r in store_client(churn).search_runs([killed.info.experiment_id])]
    assert sorted(statuses) == ["FINISHED", "KILLED"]


class Link:
    """A TCP link to the MLflow server; ``cut()`` kills it, as a server (or the network to it) dies: open
    connections are reset and new ones refused."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            self.sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(): close() alone leaves it listening
        except OSError:
            pass
        self.listener.close()
        for end in self.sockets:
            end.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # reset
            end.close()


def test_a_server_killed_mid_run_fails_in_bounded_time_with_the_first_error(churn: Path, postgres_mlflow: tuple[str, Path]) -> None:
    """Before: retries for 12 min 20 s, then the error of the clean-up call. The run cannot be ended while
    the server is gone; the next command (end_runs_of_dead_owners, what train calls) marks it KILLED."""
    from mlflow.tracking import MlflowClient

    from hydraops.tracking.owners import end_runs_of_dead_owners

    server = postgres_mlflow[0]
    link = Link(int(server.rsplit(":", 1)[1]))
    project, name = churn, f"churn_{uuid.uuid4().hex[:6]}"
    train = start_train(project, "stack=shared", f"project={name}", "stack.tracking_timeout=2", "stack.tracking_retries=1",
                        env={"MLFLOW_TRACKING_URI": f"http://127.0.0.1:{link.port}"})  # fmt: skip
    client = MlflowClient(tracking_uri=server, registry_uri=server)
    deadline, runs = time.monotonic() + 240, []
    while not runs and time.monotonic() < deadline and train.poll() is None:
        experiment = client.get_experiment_by_name(name)
        runs = client.search_runs([experiment.experiment_id], "attributes.status = 'RUNNING'") if experiment else []
        time.sleep(0.05)
    assert runs, f"no run appeared: {train.poll()}"
    link.cut()
    cut = time.monotonic()
    out, err = train.communicate(timeout=180)
    waited = time.monotonic() - cut
    assert waited < 60, f"{waited:.1f} s: should be bounded by one retry and no retries while cleaning up"
    assert train.returncode == 2, f"{waited:.1f} s\n{out}{err}"
    first = next(line for line in err.splitlines() if line.startswith("error:"))
    assert f"the tracking store http://127.0.0.1:{link.port} (stack.tracking_uri) failed:" in first, err
    assert "runs/update" not in first, f"the first error, not the clean-up's: {err}"
    assert f"the run {runs[0].info.run_id} could not be ended FAILED" in err and "Traceback" not in err, err
    assert client.get_run(runs[0].info.run_id).info.status == "RUNNING"
    assert end_runs_of_dead_owners(client, runs[0].info.experiment_id) == [runs[0].info.run_id]
    assert client.get_run(runs[0].info.run_id).info.status == "KILLED"
