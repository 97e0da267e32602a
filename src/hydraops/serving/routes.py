"""The HTTP routes of the service (a Starlette app BentoML mounts at ``/``): native ``/predict`` and
``/schema``, MLflow's ``/invocations``, the Open Inference Protocol v2. Each reads its body within
``deploy.service.max_body_bytes``, turns it into rows and takes ``Serving.predict_rows``; refusals are
problem details, and an unexpected failure is a 500 naming the request id, its traceback in the log."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import bentoml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hydraops.serving.app import Serving
from hydraops.serving.formats import mlflow_rows, oip_metadata, oip_response, oip_rows
from hydraops.serving.problems import MEDIA_TYPE, Refusal, too_large, unavailable
from hydraops.serving.problems import body as problem_body
from hydraops.serving.validation import loads, schema_document

logger = logging.getLogger(__name__)


def current() -> Serving:
    """The Serving of this worker's service instance."""
    return bentoml.get_current_service().serving


def json_response(document: Any, status: int = 200) -> Response:
    return Response(json.dumps(document, default=str), status_code=status, media_type="application/json")


def problem_response(problem: Refusal, serving: Serving | None = None, request_id: str | None = None) -> Response:
    if serving is not None and 400 <= problem.status < 500:
        serving.count_refusal(problem.status)
    return Response(problem_body(problem, request_id), status_code=problem.status, media_type=MEDIA_TYPE)


def answering(handler: Callable[[Request, Serving, bytes], Any]) -> Callable[[Request], Awaitable[Response]]:
    """A route from ``handler(request, serving, body)`` → a JSON document (or a Response): the body read
    within the limit, Problems as problem details, anything else a logged 500."""

    async def endpoint(request: Request) -> Response:
        serving = current()
        try:
            body = await read_body(request, serving.max_body_bytes()) if request.method == "POST" else b""
            answer = handler(request, serving, body)
        except Refusal as problem:
            return problem_response(problem, serving, request.state.request_id)
        except Exception:  # a bug of ours, never a client's mistake: no detail leaked
            request_id = request.state.request_id
            logger.exception("request %s failed", request_id)
            return problem_response(Refusal(500, "internal-error", "Internal error", f"see the server log for request {request_id}"), None, request_id)
        return answer if isinstance(answer, Response) else json_response(answer)

    return endpoint


async def read_body(request: Request, limit: int) -> bytes:
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


@answering
def predict(request: Request, serving: Serving, body: bytes) -> dict:
    return serving.predict(body, request.state.request_id)


@answering
def schema(request: Request, serving: Serving, body: bytes) -> dict:
    return schema_document(serving.spec)


@answering
def invocations(request: Request, serving: Serving, body: bytes) -> dict:
    serving.require_model()
    rows = mlflow_rows(body, request.headers.get("content-type", "application/json"), serving.spec)
    return {"predictions": serving.predict_rows(rows, request.state.request_id)["predictions"]}


def _model_named(request: Request, serving: Serving) -> None:
    name, version = request.path_params["name"], request.path_params.get("version")
    if name != serving.spec.model.name or version not in (None, serving.spec.model.version):
        served = f"{serving.spec.model.name} version {serving.spec.model.version}"
        raise Refusal(404, "unknown-model", "Unknown model", f"this service serves {served}, not {name}{f' version {version}' if version else ''}")


@answering
def v2_infer(request: Request, serving: Serving, body: bytes) -> dict:
    _model_named(request, serving)
    serving.require_model()
    rows, request_id = oip_rows(loads(body))
    return oip_response(serving.spec, serving.predict_rows(rows, request.state.request_id)["predictions"], request_id)


@answering
def v2_metadata(request: Request, serving: Serving, body: bytes) -> dict:
    _model_named(request, serving)
    return oip_metadata(serving.spec)


@answering
def v2_ready(request: Request, serving: Serving, body: bytes) -> dict:
    if "name" in request.path_params:
        _model_named(request, serving)
    reason = serving.not_ready()
    if reason:
        raise unavailable(reason)
    return {"name": serving.spec.model.name, "ready": True} if "name" in request.path_params else {"ready": True}


async def v2_live(request: Request) -> Response:
    return json_response({"live": True})


app = Starlette(
    routes=[
        Route("/predict", predict, methods=["POST"]),
        Route("/schema", schema, methods=["GET"]),
        Route("/invocations", invocations, methods=["POST"]),
        Route("/v2/health/live", v2_live, methods=["GET"]),
        Route("/v2/health/ready", v2_ready, methods=["GET"]),
        Route("/v2/models/{name}", v2_metadata, methods=["GET"]),
        Route("/v2/models/{name}/ready", v2_ready, methods=["GET"]),
        Route("/v2/models/{name}/infer", v2_infer, methods=["POST"]),
        Route("/v2/models/{name}/versions/{version}", v2_metadata, methods=["GET"]),
        Route("/v2/models/{name}/versions/{version}/infer", v2_infer, methods=["POST"]),
    ]
)
