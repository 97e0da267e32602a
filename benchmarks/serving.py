"""Online serving latency: the hydraops bundle beside `mlflow models serve` of the same registered model and a
bare BentoML service that only calls ``booster.predict``, under one load client, 1-row requests.

    .venv/bin/python benchmarks/serving.py                       # 3 rounds of 2,000 requests, concurrency 8
    .venv/bin/python benchmarks/serving.py --requests 300 --rounds 1    # a quick look

Everything is made here from seeded data (nothing downloaded): a LightGBM classifier of 200 trees on 8
numeric inputs, registered in an MLflow registry on SQLite; 6 of the inputs are stored online (SQLite) for
1,000 customers, 2 come with each request. The contenders, each its own server on 127.0.0.1 with ``--workers`` workers (1):

    hydraops        the bundle of the registered version (hydraops.serving.service): every row validated
                    against the declared inputs, 6 features looked up online by customer_id (TTL checked),
                    per-feature statuses and metrics; {"rows": [{"customer_id": k, "a": .., "b": ..}]}
    hydraops+explain the same server, {"explain": true}: LightGBM's pred_contrib in the same response
    mlflow          `mlflow models serve -m models:/bench/1 --env-manager local`: the pyfunc with its
                    signature enforced; all 8 values sent (dataframe_split), no lookup
    bentoml-bare    a @bentoml.service whose one API calls booster.predict on the 8 values sent

The load client (http.client, one keep-alive connection per thread, 8 threads) sends `--warmup` requests,
then `--requests`, customers taken in turn; each round measures every contender once, in turn; the
figures are the medians over rounds. Beside them, the same 1-row call in process, without HTTP (where the
time goes). Peak RSS: the sum of the high-water marks (VmHWM) of the server's
processes. Writes ``results/serving.json``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _serving_load import Server, load  # noqa: E402

ONLINE = [f"f{i}" for i in range(6)]  # looked up online by customer_id
GIVEN = ["a", "b"]  # sent with each request
FEATURES = [*ONLINE, *GIVEN]
CUSTOMERS = 1000
BARE = """import bentoml
import lightgbm
import numpy as np


@bentoml.service
class Bare:
    def __init__(self) -> None:
        self.booster = lightgbm.Booster(model_file="{model}")

    @bentoml.api
    def predict(self, rows: list[list[float]]) -> list[float]:
        return self.booster.predict(np.asarray(rows, dtype=float), num_threads=1).tolist()
"""


def make(work: Path) -> dict[str, Any]:
    """The registered model, the hydraops bundle (``bundle/``: serving.json, model/, online.db), the bare
    service (``bare/``) and the request values per customer (``values.json``)."""
    import lightgbm
    import mlflow
    import numpy as np
    import pandas as pd

    from hydraops.features.online import SqliteOnlineStore
    from hydraops.features.online.base import OnlineRow
    from hydraops.serving.spec import FILE, FeatureField, ModelRef, ServingSpec, ViewLookup
    from hydraops.tracking.models import files_sha256

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({name: rng.normal(0, 1, 20_000) for name in FEATURES})
    target = ((frame.f0 + frame.f1 * frame.a > 0) ^ (frame.b > 1)).astype(int)
    model = lightgbm.LGBMClassifier(n_estimators=200, num_leaves=31, verbose=-1, random_state=0).fit(frame, target)
    booster = model.booster_

    uri = f"sqlite:///{work / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)  # this script's own process: the benchmark's throw-away registry
    signature = mlflow.models.infer_signature(frame.head(5), booster.predict(frame.head(5)))
    experiment = mlflow.create_experiment("bench", artifact_location=(work / "artifacts").as_uri())  # not ./mlruns
    with mlflow.start_run(experiment_id=experiment):
        mlflow.lightgbm.log_model(booster, name="model", registered_model_name="bench", signature=signature, pip_requirements=["lightgbm"])
    bundle = work / "bundle"
    mlflow.artifacts.download_artifacts("models:/bench/1", dst_path=str(bundle / "model"))
    customers = pd.DataFrame({name: rng.normal(0, 1, CUSTOMERS).round(6) for name in FEATURES})
    customers.insert(0, "customer_id", np.arange(1, CUSTOMERS + 1))
    now = datetime.now(UTC)
    with SqliteOnlineStore(bundle / "online.db") as store:
        rows = [OnlineRow((int(r.customer_id),), now - timedelta(minutes=5), {n: float(getattr(r, n)) for n in ONLINE}) for r in customers.itertuples()]
        store.write("customer", rows, as_of=now)
    spec = ServingSpec(
        project="bench",
        model=ModelRef("bench", "1", "run", "champion", "lightgbm", files_sha256(bundle / "model")),
        task="classification",
        features=[FeatureField(n, "float64", nullable=False, ge=-100, le=100, view="customer" if n in ONLINE else None) for n in FEATURES],
        categories={},
        views=[ViewLookup("customer", ["customer_id"], ONLINE, 30 * 86_400.0)],
        online_store={"type": "sqlite", "path": str(bundle / "online.db")},
        service={"name": "bench", "explain": True, "online_features": True, "unknown_fields": "reject", "missing": "reject"},
    )
    (bundle / FILE).write_text(spec.to_json())
    (work / "bare").mkdir()
    (work / "bare" / "service.py").write_text(BARE.format(model=next((bundle / "model").rglob("*.lgb"))))
    values = customers.to_dict(orient="records")
    (work / "values.json").write_text(json.dumps(values))
    return {"tracking_uri": uri, "trees": booster.num_trees()}


def bodies(contender: str, values: list[dict]) -> list[bytes]:
    """One request body per customer, as each contender takes it."""
    out = []
    for row in values:
        if contender.startswith("hydraops"):
            body = {"rows": [{"customer_id": int(row["customer_id"]), **{n: row[n] for n in GIVEN}}], "explain": contender.endswith("explain")}
        elif contender == "mlflow":
            body = {"dataframe_split": {"columns": FEATURES, "data": [[row[n] for n in FEATURES]]}}
        else:
            body = {"rows": [[row[n] for n in FEATURES]]}
        out.append(json.dumps(body).encode())
    return out


PATHS = {"hydraops": "/predict", "hydraops+explain": "/predict", "mlflow": "/invocations", "bentoml-bare": "/predict"}


def start_servers(work: Path, tracking_uri: str, servers: dict[str, Server], workers: int) -> None:
    """Start the three into ``servers`` (so that the caller stops whichever started) and wait for each."""
    env = {
        **os.environ,
        "BENTOML_DO_NOT_TRACK": "True",
        "BENTOML_HOME": str(work / "bentoml"),
        "MLFLOW_TRACKING_URI": tracking_uri,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }  # mlflow execs uvicorn
    bentoml = [sys.executable, "-m", "bentoml", "serve", "--host", "127.0.0.1", "--port", "{port}"]
    mlflow = [sys.executable, "-m", "mlflow", "models", "serve", "-m", "models:/bench/1", "--env-manager", "local"]
    mlflow += ["-h", "127.0.0.1", "-p", "{port}", "-w", str(workers)]

    def bento_env(service: str) -> dict[str, str]:
        return {**env, "BENTOML_CONFIG_OVERRIDES": json.dumps({"services": {service: {"workers": workers}}})}  # as `hydraops serve` sets it

    servers["hydraops"] = Server(
        "hydraops", [*bentoml, "hydraops.serving.service:Service"], work / "bundle", bento_env("Service"), "/readyz", work / "hydraops.log"
    )
    servers["mlflow"] = Server("mlflow", mlflow, work, env, "/ping", work / "mlflow.log")
    servers["bentoml-bare"] = Server("bentoml-bare", [*bentoml, "service:Bare"], work / "bare", bento_env("Bare"), "/readyz", work / "bare.log")
    for server in servers.values():
        server.wait()


def same_predictions(servers: dict[str, Server], values: list[dict]) -> None:
    """The three give the same prediction for the same customer (the bundle's looked-up values are the ones sent)."""
    seen = {}
    for name, server in servers.items():
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        connection.request("POST", PATHS[name], bodies(name, values[:3])[2], {"Content-Type": "application/json"})
        answer = json.loads(connection.getresponse().read())
        seen[name] = answer["predictions"][0] if isinstance(answer, dict) else answer[0]
    if max(seen.values()) - min(seen.values()) > 1e-9:
        raise SystemExit(f"the contenders disagree on the same row: {seen}")


def in_process(work: Path, values: list[dict], calls: int = 300) -> dict[str, float]:
    """Median ms of one 1-row call without HTTP: the bundle's whole path (``Serving.predict_rows``: validation,
    lookup, model, response document), with explanations, and ``booster.predict`` alone on the 8 values."""
    import lightgbm
    import numpy as np

    from hydraops.serving.app import Serving

    serving = Serving(work / "bundle")
    booster = lightgbm.Booster(model_file=str(next((work / "bundle" / "model").rglob("*.lgb"))))

    def median_ms(call) -> float:
        times = []
        for index in range(calls):
            row = values[index % len(values)]
            start = time.perf_counter()
            call(row)
            times.append(time.perf_counter() - start)
        return round(1000 * statistics.median(times), 3)

    def rows(row: dict) -> list[dict]:
        return [{"customer_id": int(row["customer_id"]), **{n: row[n] for n in GIVEN}}]

    return {
        "hydraops": median_ms(lambda row: serving.predict_rows(rows(row), "bench")),
        "hydraops+explain": median_ms(lambda row: serving.predict_rows(rows(row), "bench", explain=True)),
        "booster.predict": median_ms(lambda row: booster.predict(np.asarray([[row[n] for n in FEATURES]]), num_threads=1)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1, help="worker processes of each server (default 1)")
    parser.add_argument("--out", default=str(HERE / "results" / "serving.json"))
    args = parser.parse_args()
    contenders = ["hydraops", "hydraops+explain", "mlflow", "bentoml-bare"]
    runs: dict[str, list[dict]] = {name: [] for name in contenders}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as scratch:
        work = Path(scratch)
        made = make(work)
        values = json.loads((work / "values.json").read_text())
        service_ms = in_process(work, values)
        servers: dict[str, Server] = {}
        try:
            start_servers(work, made["tracking_uri"], servers, args.workers)
            same_predictions(servers, values)
            payloads = {name: bodies(name, values) for name in contenders}
            for _ in range(args.rounds):
                for name in contenders:
                    port = servers[name.split("+")[0]].port
                    load(port, PATHS[name], payloads[name], args.warmup, args.concurrency)
                    runs[name].append(load(port, PATHS[name], payloads[name], args.requests, args.concurrency))
            measured = {name: server.peak_rss_mb() for name, server in servers.items()}
            peak = {name: mb for name, (mb, _) in measured.items()}
            processes = {name: count for name, (_, count) in measured.items()}
        finally:
            for server in servers.values():
                server.stop()
    load_after = os.getloadavg()
    median = {name: {key: round(statistics.median(r[key] for r in found), 2) for key in ("p50_ms", "p99_ms", "throughput_rps")} for name, found in runs.items()}
    ratios = {
        "throughput_hydraops_over_mlflow": round(median["hydraops"]["throughput_rps"] / median["mlflow"]["throughput_rps"], 2),
        "throughput_hydraops_over_bare": round(median["hydraops"]["throughput_rps"] / median["bentoml-bare"]["throughput_rps"], 2),
        "explain_adds_p99_ms": round(median["hydraops+explain"]["p99_ms"] - median["hydraops"]["p99_ms"], 2),
        "explain_adds_p50_ms": round(median["hydraops+explain"]["p50_ms"] - median["hydraops"]["p50_ms"], 2),
    }
    print(f"{args.requests:,} 1-row requests at concurrency {args.concurrency}, {args.workers} worker(s) per server, after {args.warmup} warm-up, medians of {args.rounds} round(s);"
          f" {made['trees']} trees; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")  # fmt: skip
    print(f"{'':18} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'peak RSS MB':>12}")
    for name in contenders:
        m = median[name]
        print(f"{name:18} {m['p50_ms']:8.2f} {m['p99_ms']:8.2f} {m['throughput_rps']:8.0f} {peak[name.split('+')[0]]:12.0f}")
    targets = {  # issue 12, on 2 cores
        "throughput_ge_1.2x_mlflow": ratios["throughput_hydraops_over_mlflow"] >= 1.2,
        "p99_le_30ms": median["hydraops"]["p99_ms"] <= 30,
        "explain_adds_le_3ms_p99": ratios["explain_adds_p99_ms"] <= 3,
    }
    print("in process, one 1-row call, median ms:", json.dumps(service_ms))
    print(json.dumps(ratios))
    print("targets:", json.dumps(targets))
    result = {"requests": args.requests, "warmup": args.warmup, "concurrency": args.concurrency, "workers": args.workers, "rounds": args.rounds, "trees": made["trees"],
              "median": median, "ratios": ratios, "targets": targets, "in_process_ms": service_ms, "peak_rss_mb": peak, "server_processes": processes, "runs": runs, "errors": {n: sum(r["errors"] for r in f) for n, f in runs.items()},
              "load_average_before": [round(x, 2) for x in load_before], "load_average_after": [round(x, 2) for x in load_after],
              "python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
              "date": datetime.now(UTC).isoformat(timespec="minutes")}  # fmt: skip
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
