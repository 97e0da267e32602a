"""The one generic service: ``bentoml serve hydraops.serving.service:Service`` in a bundle directory.

At start it reads ``./serving.json`` (the ServingSpec) and ``./model/`` (checked against its sha256) from
its working directory (no Hydra, no ``conf/``, no MLflow), opens the online store the spec declares,
read-only, and serves (``hydraops.serving.routes``):

    POST /predict        {"rows": [{...}], "explain": false, "top_k": null}: predictions, the features used
                         with their status (given/present/missing/expired), explanations on request
    GET  /schema         the declared inputs with their constraints, the entity keys of each view
    POST /invocations    MLflow's scoring formats (dataframe_split/_records, instances, inputs, CSV)
    /v2/...              the Open Inference Protocol v2: health, model metadata, infer
    GET  /livez /readyz  alive; ready (503 with the reason: model not loaded, online store unreachable)
    GET  /metrics        BentoML's series, plus hydraops_predictions, hydraops_validation_failures and
                         hydraops_feature_values{feature,status}

Every served row goes to the prediction log off the request path (``hydraops.serving.log_writer``), with
the shadow model's prediction when the bundle has one; on a graceful stop (SIGTERM) the queue is written
before the worker exits. ``HYDRAOPS_PREDICTION_LOG_URL`` (a PostgreSQL URL with its credentials, or a
parquet directory) replaces the spec's, read once at start.

Refusals are RFC 9457 problem details (``hydraops.serving.problems``). Every response carries
``x-request-id`` (the caller's, when it sends a sane one), ``x-model-name`` and ``x-model-version``.

The serving machine gives the online store's connection in ``HYDRAOPS_ONLINE_URL`` (a Redis URL with its
credentials, or a SQLite path), read once at start; without it the spec's URL or path is used. Likewise
``HYDRAOPS_REGISTRY_URI`` replaces the recorded model registry, which ``/readyz`` asks (every
``deploy.service.alias_check_seconds``) whether the alias the bundle serves still points to its version
(``hydraops.serving.alias_watch``): 503 naming both versions when it moved.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from functools import cache
from pathlib import Path
from typing import Any

import bentoml
from starlette.responses import Response

from hydraops.serving.app import Serving
from hydraops.serving.problems import unavailable
from hydraops.serving.routes import app, current, problem_response
from hydraops.serving.spec import FILE

ONLINE_URL_ENV = "HYDRAOPS_ONLINE_URL"
PREDICTION_LOG_URL_ENV = "HYDRAOPS_PREDICTION_LOG_URL"  # as hydraops.cli.monitor_verb.LOG_URL_ENV reads it
REGISTRY_URI_ENV = "HYDRAOPS_REGISTRY_URI"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


@bentoml.service
@bentoml.asgi_app(app, path="/")
class Service:
    """The bundle in the working directory, served."""

    def __init__(self) -> None:
        self.serving = Serving(
            Path.cwd(), os.environ.get(ONLINE_URL_ENV) or None, os.environ.get(REGISTRY_URI_ENV) or None,
            log_url=os.environ.get(PREDICTION_LOG_URL_ENV) or None,
        )  # fmt: skip

    @bentoml.on_shutdown
    def write_prediction_log(self) -> None:
        self.serving.close()


@cache
def _model_headers() -> list[tuple[bytes, bytes]]:
    """The bundle's model name and version as response headers (read once, without loading the model)."""
    try:
        model = json.loads((Path.cwd() / FILE).read_text())["model"]
    except (OSError, ValueError, KeyError):
        return []
    return [(b"x-model-name", str(model["name"]).encode()), (b"x-model-version", str(model["version"]).encode())]


class ServingHeaders:
    """ASGI middleware around every route (BentoML's own too): the request id and the model's name and
    version on every response; ``/readyz`` answered with the reason when not ready."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        sent = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = sent if _REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        headers = [(b"x-request-id", request_id.encode()), *_model_headers()]

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *headers]}
            await send(message)

        if scope["path"] == "/readyz" and scope["method"] == "GET":
            return await _readyz(send_with_headers, request_id)
        return await self.app(scope, receive, send_with_headers)


async def _readyz(send: Any, request_id: str) -> None:
    from starlette.concurrency import run_in_threadpool

    ready: dict[str, Any] = {"status": "ready"}
    try:
        serving = current()
        reason = await run_in_threadpool(serving.not_ready)  # it may ask the registry: off the event loop
        ready = serving.ready_document()
    except Exception as error:  # noqa: BLE001 - the service is not instantiated yet
        reason = f"the service is starting ({error})"
    response = problem_response(unavailable(reason), None, request_id) if reason else Response(json.dumps(ready) + "\n", media_type="application/json")
    await response({"type": "http"}, None, send)


Service.add_asgi_middleware(ServingHeaders)
