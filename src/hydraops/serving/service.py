"""The one generic service: ``bentoml serve hydraops.serving.service:Service`` in a bundle directory.

At start it reads ``./serving.json`` (the ServingSpec) and ``./model/`` (checked against its sha256) from
its working directory (no Hydra, no ``conf/``, no MLflow), opens the online store the spec declares,
read-only, and serves:

    POST /predict        {"rows": [{...}], "explain": false, "top_k": null}: predictions, the features used
                         with their status (given/present/missing/expired), explanations on request
    GET  /schema         the declared inputs with their constraints, the entity keys of each view
    GET  /livez /readyz  alive; ready (503 with the reason: model not loaded, online store unreachable)
    GET  /metrics        BentoML's series, plus hydraops_predictions, hydraops_validation_failures and
                         hydraops_feature_values{feature,status}

Refusals are RFC 9457 problem details (``hydraops.serving.problems``). Every response carries
``x-request-id`` (the caller's, when it sends a sane one), ``x-model-name`` and ``x-model-version``.

The serving machine gives the online store's connection in ``HYDRAOPS_ONLINE_URL`` (a Redis URL with its
credentials, or a SQLite path), read once at start; without it the spec's URL or path is used. The
registry is not consulted: ``/readyz`` does not check whether the alias moved to another version.
"""

from __future__ import annotations

import json
import logging
import os
import re
import uuid
from functools import cache
from pathlib import Path
from typing import Any

import bentoml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hydraops.serving.explaining import explanations
from hydraops.serving.lookup import OnlineFeatures, model_frame, refuse_missing
from hydraops.serving.problems import MEDIA_TYPE, Problem, invalid, too_large, unavailable
from hydraops.serving.spec import FILE, ServingSpec
from hydraops.serving.validation import parse_predict, schema_document, validate_rows

ONLINE_URL_ENV = "HYDRAOPS_ONLINE_URL"
MODEL_DIR = "model"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
logger = logging.getLogger(__name__)

PREDICTIONS = bentoml.metrics.Counter(name="hydraops_predictions", documentation="Rows predicted", labelnames=["model", "version"])
VALIDATION_FAILURES = bentoml.metrics.Counter(
    name="hydraops_validation_failures", documentation="Requests refused with a 4xx problem", labelnames=["model", "version", "status"]
)
FEATURE_VALUES = bentoml.metrics.Counter(
    name="hydraops_feature_values", documentation="Served feature values by status (given/present/missing/expired)", labelnames=["feature", "status"]
)


class Serving:
    """The bundle in ``folder``, loaded: its spec, its model (or why it did not load) and its online store."""

    def __init__(self, folder: Path, online_url: str | None = None):
        self.spec = ServingSpec.from_json((folder / FILE).read_text())
        self.labels = {"model": self.spec.model.name, "version": self.spec.model.version}
        self.predictor = None
        self.load_error: str | None = None
        try:
            from hydraops.serving.predictor import Predictor

            self.predictor = Predictor(self.spec, folder / MODEL_DIR)
        except Exception as error:  # noqa: BLE001 - the service stays up and says why it is not ready
            self.load_error = f"model {self.spec.model.name}/{self.spec.model.version} not loaded: {error}"
            logger.error(self.load_error)
        self.online = OnlineFeatures(self.spec, online_url)

    def not_ready(self) -> str | None:
        """Why the service cannot serve now; None when it can."""
        return self.load_error or self.online.check()

    def max_body_bytes(self) -> int:
        return int(self.spec.service.get("max_body_bytes", 1_048_576))

    def predict(self, body: bytes, request_id: str) -> dict[str, Any]:
        """The native ``/predict`` response for ``body``; a Problem for a refusal."""
        if self.predictor is None:
            raise unavailable(self.load_error or "the model is not loaded")
        request = parse_predict(body, self.spec.service)
        errors = validate_rows(self.spec, request.rows)
        if errors:
            raise invalid(errors)
        if request.explain and not self.predictor.explainable:
            raise Problem(422, "not-explainable", "Not explainable",
                          f"model {self.spec.model.name}/{self.spec.model.version} ({self.spec.model.flavor}) gives no explanations: send explain: false")  # fmt: skip
        served = self.online.serve(request.rows)
        for statuses in served.statuses:
            for name, status in statuses.items():
                FEATURE_VALUES.labels(feature=name, status=status).inc()
        refuse_missing(self.spec, served)
        frame = model_frame(self.spec, served.values)
        predictions = self.predictor.predict(frame)
        document = {
            "request_id": request_id,
            "model": {"name": self.spec.model.name, "version": self.spec.model.version},
            "predictions": [float(p) for p in predictions],
            "features": [
                {name: {"value": values[name], "status": statuses[name]} for name in self.spec.feature_names}
                for values, statuses in zip(served.values, served.statuses)
            ],
        }
        if request.explain:
            document["explanations"] = explanations(self.predictor.explain(frame), self.spec.feature_names, served.values, request.top_k)
        PREDICTIONS.labels(**self.labels).inc(len(predictions))
        return document


def _serving() -> Serving:
    return bentoml.get_current_service().serving


async def predict(request: Request) -> Response:
    serving = _serving()
    try:
        body = await _read_body(request, serving.max_body_bytes())
        document = serving.predict(body, request.state.request_id)
    except Problem as problem:
        return problem_response(problem, serving)
    except Exception:  # a bug of ours, never a client's mistake: logged with its traceback, no detail leaked
        logger.exception("request %s failed", request.state.request_id)
        return problem_response(Problem(500, "internal-error", "Internal error", f"see the server log for request {request.state.request_id}"))
    return Response(json.dumps(document, default=str), media_type="application/json")


async def schema(request: Request) -> Response:
    return Response(json.dumps(schema_document(_serving().spec)), media_type="application/json")


def problem_response(problem: Problem, serving: Serving | None = None) -> Response:
    if serving is not None and 400 <= problem.status < 500:
        VALIDATION_FAILURES.labels(**serving.labels, status=str(problem.status)).inc()
    return Response(problem.body(), status_code=problem.status, media_type=MEDIA_TYPE)


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused (413) as soon as it is known to be over ``limit`` bytes: by its Content-Length or
    while it streams in."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(f"the body has {declared} bytes: at most {limit} (deploy.service.max_body_bytes)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(f"the body is over {limit} bytes (deploy.service.max_body_bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


app = Starlette(routes=[Route("/predict", predict, methods=["POST"]), Route("/schema", schema, methods=["GET"])])


@bentoml.service
@bentoml.asgi_app(app, path="/")
class Service:
    """The bundle in the working directory, served."""

    def __init__(self) -> None:
        self.serving = Serving(Path.cwd(), os.environ.get(ONLINE_URL_ENV) or None)


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
            return await _readyz(send_with_headers)
        return await self.app(scope, receive, send_with_headers)


async def _readyz(send: Any) -> None:
    try:
        reason = _serving().not_ready()
    except Exception as error:  # noqa: BLE001 - the service is not instantiated yet
        reason = f"the service is starting ({error})"
    response = problem_response(unavailable(reason)) if reason else Response(b'{"status": "ready"}\n', media_type="application/json")
    await response({"type": "http"}, None, send)


Service.add_asgi_middleware(ServingHeaders)
