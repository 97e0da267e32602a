"""A tiny serving bundle for tests, without a registry: a LightGBM classifier on seeded random data, its
``serving.json`` and a SQLite online store holding one fresh, one expired and no row for three customers.

    bundle = tiny_bundle(tmp_path / "bundle")          # ~1 s
    bundle.folder / "serving.json", bundle.folder / "model", bundle.store_path
    bundle.frame                                        # rows the model was trained on (its input columns)
    tiny_bundle(folder, shadow=True, prediction_log={"type": "parquet", "path": "..."})   # a shadow model, a log
    with running_service(bundle.folder) as url: ...     # `bentoml serve` in the bundle, stopped on exit
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hydraops.serving.spec import FILE, FeatureField, ModelRef, ServingSpec, ShadowRef, ViewLookup

__all__ = ["ABSENT", "EXPIRED", "FRESH", "TinyBundle", "running_service", "tiny_bundle"]

FRESH, EXPIRED, ABSENT = 1, 2, 3  # customer ids: a value within the TTL, one older than it, none stored
PLANS = ["basic", "max", "pro"]
TTL_SECONDS = 86_400.0


@dataclass(frozen=True)
class TinyBundle:
    folder: Path
    store_path: Path
    spec: ServingSpec
    frame: Any  # pandas.DataFrame of the model's inputs (training rows)
    stored: dict[int, dict[str, Any]]  # what the online store holds per customer id


def tiny_bundle(folder: Path, *, service: dict[str, Any] | None = None, rows: int = 300, seed: int = 7, shadow: bool = False,
                prediction_log: dict[str, Any] | None = None) -> TinyBundle:  # fmt: skip
    """The bundle in ``folder`` (created) and its online store at ``folder.parent / "online.db"``. ``shadow``:
    a second model (version 4, taking ``amount`` and ``tenure_days`` only) in ``shadow/``; ``prediction_log``:
    where the service logs (``stack.prediction_log`` as in ``serving.json``)."""
    import lightgbm
    import mlflow.lightgbm
    import numpy as np
    import pandas as pd

    from hydraops.features.online import SqliteOnlineStore
    from hydraops.features.online.base import OnlineRow
    from hydraops.tracking.models import files_sha256
    from hydraops.training.estimators import prepare_features

    folder = Path(folder).resolve()  # serving.json names the store by an absolute path
    random = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "tenure_days": random.integers(0, 2000, rows).astype("int64"),
            "plan": random.choice(PLANS, rows),
            "amount": random.uniform(0, 500, rows).round(2),
        }
    )
    target = ((frame["tenure_days"] < 600) ^ (frame["plan"] == "pro") ^ (random.uniform(0, 1, rows) < 0.2)).astype(int)
    categories = {"plan": PLANS}
    model = lightgbm.LGBMClassifier(n_estimators=20, num_leaves=7, min_child_samples=5, verbose=-1, random_state=seed)
    model.fit(prepare_features(frame, categories), target)
    folder.mkdir(parents=True, exist_ok=True)
    mlflow.lightgbm.save_model(model.booster_, str(folder / "model"), serialization_format="skops", pip_requirements=["lightgbm"])
    shadow_ref = None
    if shadow:
        challenger = lightgbm.LGBMRegressor(n_estimators=10, num_leaves=5, min_child_samples=5, verbose=-1, random_state=seed + 1)
        challenger.fit(frame[["amount", "tenure_days"]].astype(float), target.astype(float))
        mlflow.lightgbm.save_model(challenger.booster_, str(folder / "shadow"), serialization_format="skops", pip_requirements=["lightgbm"])
        shadow_ref = ShadowRef(ModelRef("tiny-churn", "4", "run-1", "challenger", "lightgbm", files_sha256(folder / "shadow")), ["amount", "tenure_days"])

    store_path = folder.parent / "online.db"
    now = datetime.now(UTC)
    stored = {FRESH: {"tenure_days": 120, "plan": "pro"}, EXPIRED: {"tenure_days": 1500, "plan": "basic"}}
    with SqliteOnlineStore(store_path) as store:
        store.write(
            "customer",
            [
                OnlineRow((FRESH,), now - timedelta(hours=1), stored[FRESH]),
                OnlineRow((EXPIRED,), now - timedelta(seconds=3 * TTL_SECONDS), stored[EXPIRED]),
            ],
            as_of=now,
        )
    spec = ServingSpec(
        project="tiny",
        model=ModelRef("tiny-churn", "3", "run-0", "champion", "lightgbm", files_sha256(folder / "model")),
        task="classification",
        features=[
            FeatureField("tenure_days", "int64", nullable=True, ge=0, view="customer"),
            FeatureField("plan", "category", nullable=True, isin=PLANS, view="customer"),
            FeatureField("amount", "float64", nullable=False, ge=0, le=1000),
        ],
        categories=categories,
        views=[ViewLookup("customer", ["customer_id"], ["tenure_days", "plan"], TTL_SECONDS, key_types={"customer_id": "integer"})],
        online_store={"type": "sqlite", "path": str(store_path)},
        service={
            "name": "tiny",
            "explain": True,
            "online_features": True,
            "unknown_fields": "reject",
            "missing": "null",
            "max_rows": 50,
            "max_body_bytes": 20_000,
            **(service or {}),
        },  # fmt: skip
        prediction_log=prediction_log,
        shadow=shadow_ref,
    )
    (folder / FILE).write_text(spec.to_json())
    return TinyBundle(folder, store_path, spec, frame, stored)


@contextmanager
def running_service(folder: Path, *, env: dict[str, str] | None = None, timeout: float = 60.0) -> Iterator[str]:
    """``bentoml serve hydraops.serving.service:Service`` on 127.0.0.1 and a free port, in ``folder`` (a
    bundle), with ``BENTOML_HOME`` beside it; yields its base URL once ``/livez`` answers; stopped on exit."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (folder.parent / f"service-{port}.log").open("wb")
    environment = {**os.environ, "BENTOML_HOME": str(folder.parent / "bentoml"), "BENTOML_DO_NOT_TRACK": "True", **(env or {})}
    command = [sys.executable, "-m", "bentoml", "serve", "hydraops.serving.service:Service", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, cwd=folder, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the service exited with {process.returncode}: see {log.name}")
            try:
                with urllib.request.urlopen(f"{url}/livez", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the service did not answer /livez within {timeout} s: see {log.name}") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:  # its workers too: the server leads its own process group
            os.killpg(process.pid, 9)
            process.wait()
        log.close()
