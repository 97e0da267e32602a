"""Serve the champion's bento and call it: what `make demo` does after `hydraops apply` built the bento.

Run from the project, once `hydraops apply` (or train, promote, build) has run on data generated with
``--last-month previous`` (older data is past the views' TTL online, and would be refused as expired)::

    python serve_demo.py                 # a free port; --port N for another
    python serve_demo.py --traffic 600   # instead: 600 rows of traffic (the prediction log), in requests of 50

It starts ``hydraops serve`` in the background, waits for ``/readyz``, sends a request with entity keys only
(the features looked up online), an invalid one (a problem+json 422), one with explanations, and writes
``data/to_score.parquet`` (customer keys and an instant, for ``hydraops score``); with ``--traffic N`` it sends
N rows of recently active customers instead, for ``hydraops monitor window=...`` to judge from the prediction log.
Either way the last request's id is written to ``artifacts/request_id`` (for ``hydraops lineage``). The server is
stopped with SIGTERM whatever happens, and this script fails when a step does.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

SCORE_INPUT = Path("data/to_score.parquet")
SERVER_LOG = Path("artifacts/serve_demo.log")
REQUEST_ID = Path("artifacts/request_id")
BATCH = 50  # rows per request in --traffic


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def call(url: str, body: dict[str, Any] | None = None) -> tuple[int, str, Any]:
    """GET (no body) or POST JSON: (status, content type, decoded JSON)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.headers.get("content-type", ""), json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers.get("content-type", ""), json.loads(refused.read())


def wait_ready(url: str, server: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.poll() is not None:
            raise SystemExit(f"hydraops serve exited with {server.returncode} before /readyz answered")
        try:
            status, _, document = call(f"{url}/readyz")
            if status == 200:
                return
            reason = document.get("detail")
        except OSError as error:
            reason = str(error)
        if time.monotonic() > deadline:
            raise SystemExit(f"{url}/readyz did not answer 200 within {timeout:.0f} s: {reason}")
        time.sleep(0.3)


def active_customers(count: int) -> list[int]:
    """Customers with a transaction and a ticket in the data's last 30 days: every view holds a value for them."""
    import pandas as pd

    recent = []
    for source in ("transactions", "tickets"):
        events = pd.read_parquet(f"data/{source}.parquet", columns=["customer_id", "ts"])
        recent.append(set(events.loc[events["ts"] > events["ts"].max() - pd.Timedelta(days=30), "customer_id"]))
    return sorted(recent[0] & recent[1])[:count]


def write_score_input() -> int:
    """The customers of the data's last label month with that instant, for `hydraops score` to look up."""
    import pandas as pd

    labels = pd.read_parquet("data/labels.parquet", columns=["customer_id", "label_time"])
    rows = labels[labels["label_time"] == labels["label_time"].max()]
    rows.to_parquet(SCORE_INPUT, index=False)
    return len(rows)


def show(title: str, status: int, document: Any) -> None:
    print(f"\n== {title}: HTTP {status}")
    text = json.dumps(document)
    print(text if len(text) <= 900 else f"{text[:900]} …")


def demo(url: str) -> None:
    customers = active_customers(2)
    if len(customers) < 2:
        raise SystemExit("no customer with recent transactions and tickets: generate the data with --last-month previous")
    status, _, answer = call(f"{url}/predict", {"rows": [{"customer_id": c} for c in customers]})
    statuses = [dict(Counter(cell["status"] for cell in row.values())) for row in answer.get("features", [])]
    show(f"POST /predict, customers {customers} (features looked up online)", status, {"predictions": answer.get("predictions"), "feature statuses": statuses})
    assert status == 200 and all(row.keys() == {"present"} for row in statuses), answer

    status, media, problem = call(f"{url}/predict", {"rows": [{"customer_id": customers[0], "age": 12, "plan": "gold"}, {"age": 40}]})
    show(f"POST /predict, invalid ({media})", status, problem)
    assert status == 422 and media == "application/problem+json", problem

    status, _, answer = call(f"{url}/predict", {"rows": [{"customer_id": customers[0]}], "explain": True, "top_k": 3})
    show("POST /predict with explain: true, top_k: 3", status, answer.get("explanations"))
    assert status == 200 and answer["explanations"][0]["additivity"]["ok"], answer

    status, _, answer = call(f"{url}/invocations", {"dataframe_records": [{"customer_id": customers[0]}]})
    show("POST /invocations (MLflow's dataframe_records)", status, answer)
    assert status == 200, answer
    keep_request_id(call(f"{url}/predict", {"rows": [{"customer_id": customers[1]}]})[2])


def traffic(url: str, rows: int) -> None:
    """``rows`` rows of recently active customers (their features looked up online), ``BATCH`` per request."""
    customers = active_customers(rows)
    if not customers:
        raise SystemExit("no customer with recent transactions and tickets: generate the data with --last-month previous")
    keys = [customers[i % len(customers)] for i in range(rows)]
    versions = Counter()
    for start in range(0, rows, BATCH):
        status, _, answer = call(f"{url}/predict", {"rows": [{"customer_id": c} for c in keys[start : start + BATCH]]})
        assert status == 200, answer
        versions[f"{answer['model']['name']} v{answer['model']['version']}"] += len(answer["predictions"])
    print(f"\nserved {rows:,} rows of {len(customers):,} customers in requests of {BATCH}: {dict(versions)}")
    keep_request_id(answer)


def keep_request_id(answer: dict[str, Any]) -> None:
    REQUEST_ID.write_text(answer["request_id"] + "\n")
    print(f"the last request: {answer['request_id']} (in {REQUEST_ID}, for hydraops lineage)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=None, help="the port to serve on (default: a free one)")
    parser.add_argument("--traffic", type=int, default=None, metavar="N", help="only send N rows of traffic (for monitoring)")
    args = parser.parse_args(argv)
    port = args.port or free_port()
    url = f"http://127.0.0.1:{port}"
    print(f"$ hydraops serve port={port} &  # its output: {SERVER_LOG}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped itself: the server is stopped too
    SERVER_LOG.parent.mkdir(parents=True, exist_ok=True)
    with SERVER_LOG.open("wb") as log:
        command = [sys.executable, "-m", "hydraops", "serve", f"port={port}"]
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_ready(url, server)
            print(f"{url}/readyz: ready")
            if args.traffic:
                traffic(url, args.traffic)
            else:
                demo(url)
                print(f"\nwrote {SCORE_INPUT}: {write_score_input():,} customers and an instant, for hydraops score")
        except BaseException:
            print(f"--- the end of {SERVER_LOG}:\n{SERVER_LOG.read_text(errors='replace')[-3000:]}", file=sys.stderr)
            raise
        finally:
            stop(server)


def stop(server: subprocess.Popen) -> None:
    """SIGTERM, as a supervisor would; the whole process group if it does not stop within 30 s."""
    if server.poll() is None:
        print(f"\n$ kill -TERM {server.pid}  # hydraops serve")
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    print(f"the service stopped (exit status {server.returncode})")


if __name__ == "__main__":
    main()
