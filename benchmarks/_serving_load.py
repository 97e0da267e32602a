"""The load client and the server processes of ``serving.py``."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path


def load(port: int, path: str, payloads: list[bytes], count: int, concurrency: int) -> dict[str, float]:
    """``count`` POSTs at ``concurrency``, payloads in turn: p50/p99 (ms), throughput (req/s), errors."""
    latencies: list[float] = []
    errors = []
    lock = threading.Lock()
    taken = iter(range(count))

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        while True:
            with lock:
                index = next(taken, None)
            if index is None:
                break
            start = time.perf_counter()
            connection.request("POST", path, payloads[index % len(payloads)], {"Content-Type": "application/json"})
            answer = connection.getresponse()
            answer.read()
            mine.append(time.perf_counter() - start)
            if answer.status != 200:
                errors.append(answer.status)
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    latencies.sort()
    return {"p50_ms": 1000 * latencies[len(latencies) // 2], "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
            "throughput_rps": count / wall, "errors": len(errors)}  # fmt: skip


class Server:
    """A server process (its own process group) on a free port; ``stop`` sends SIGTERM, then kills the group."""

    def __init__(self, name: str, command: list[str], cwd: Path, env: dict[str, str], ready: str, log: Path):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.name, self.ready = name, ready
        self.log = log.open("wb")
        command = [part.replace("{port}", str(self.port)) for part in command]
        self.process = subprocess.Popen(command, cwd=cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited with {self.process.returncode}:\n{self.tail()}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", self.ready)
                if connection.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise SystemExit(f"{self.name} not ready within {timeout} s:\n{self.tail()}")

    def tail(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-3000:]

    def peak_rss_mb(self) -> tuple[float, int]:
        """The sum of VmHWM over the server's process and its descendants (BentoML's and uvicorn's workers),
        and how many processes that is."""
        parents, peaks = {}, {}
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
                pid = int(status.parent.name)
                parents[pid] = int(fields["PPid"])
                peaks[pid] = int(fields.get("VmHWM", "0 kB").split()[0])
            except (OSError, KeyError, ValueError):
                continue
        tree, grown = {self.process.pid}, True
        while grown:
            before = len(tree)
            tree |= {pid for pid, parent in parents.items() if parent in tree}
            grown = len(tree) > before
        return round(sum(peaks.get(pid, 0) for pid in tree) / 1024, 1), len(tree)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # workers left behind, if any
        except ProcessLookupError:
            pass
        self.process.wait()
        self.log.close()
