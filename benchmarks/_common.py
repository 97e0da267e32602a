"""Helpers shared by the benchmark scripts: peak memory of a process, child processes with a timeout."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def peak_rss_bytes() -> int:
    """This process's peak resident set size so far.

    On Linux, ``VmHWM`` from ``/proc/self/status``: the high-water mark of this process's own address
    space. ``getrusage(RUSAGE_SELF).ru_maxrss`` is not usable there: the kernel folds the peak of the
    address space replaced by ``exec`` into it, and ``subprocess`` starts children with ``vfork``, so a
    child's ru_maxrss starts at the *parent's* peak (here: the data generator's). Elsewhere, ru_maxrss.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # macOS reports bytes, the rest KiB


def mib(n: float) -> float:
    return n / 2**20


def rss_bytes(pid: int) -> int:
    """Resident set size of a running process (Linux ``VmRSS``; 0 when unknown)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_json_child(argv: list[str], timeout: float, cwd: Path | None = None, max_rss: int | None = None) -> dict:
    """Run ``argv`` in its own process group; its last stdout line parsed as JSON, plus ``process_s``.

    Past ``timeout`` seconds the whole group is killed and ``{"timeout": True}`` comes back; past
    ``max_rss`` bytes resident (polled every 0.2 s, so a shared machine is not driven out of memory)
    ``{"memory_limit": True}``; a child that fails gives ``{"error": <its stderr's tail>}``. Never raises
    for the child's sake.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    stop = None
    while True:
        try:
            out, err = proc.communicate(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            if time.perf_counter() - start > timeout:
                stop = "timeout"
            elif max_rss is not None and rss_bytes(proc.pid) > max_rss:
                stop = "memory_limit"
            if stop:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
                return {stop: True, "process_s": time.perf_counter() - start}
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        return {"error": f"exit {proc.returncode}: {err.strip()[-2000:]}", "process_s": elapsed}
    try:
        result = json.loads(out.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"error": f"no JSON result on stdout: {out.strip()[-500:]} {err.strip()[-1500:]}", "process_s": elapsed}
    return {**result, "process_s": elapsed}
