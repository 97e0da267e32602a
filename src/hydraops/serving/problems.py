"""Refusals as RFC 9457 problem details (``application/problem+json``): one response per request listing
every failing field with the declared constraint it broke and the row it is in, never the value sent."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from hydraops.errors import Refusal

MEDIA_TYPE = "application/problem+json"
_TYPE_BASE = "https://hydraops.dev/problems/"


@dataclass(frozen=True)
class FieldError:
    """One failing field: its row's position in the request (None: the request as a whole), the field's
    name, the declared constraint (``ge=0``, ``dtype=int64``, ``isin``, ``nullable=false``, ``required``,
    ``unknown``, ...) and a message that names them, never the value."""

    row: int | None
    field: str
    constraint: str
    message: str


def document(refusal: Refusal, request_id: str | None = None) -> dict:
    """The problem details, with the extension members ``errors`` and ``request_id`` (as in ``x-request-id``)."""
    document = {"type": _TYPE_BASE + refusal.kind, "title": refusal.title, "status": refusal.status, "detail": refusal.detail}
    if refusal.errors:
        document["errors"] = [asdict(error) for error in refusal.errors]
    if request_id:
        document["request_id"] = request_id
    return document


def body(refusal: Refusal, request_id: str | None = None) -> bytes:
    return json.dumps(document(refusal, request_id)).encode()


def invalid(errors: list[FieldError]) -> Refusal:
    """422: the rows break the declared features' constraints."""
    rows = sorted({error.row for error in errors if error.row is not None})
    where = f" in row(s) {', '.join(map(str, rows))}" if rows else ""
    return Refusal(422, "invalid-input", "Invalid input", f"{len(errors)} field(s) fail their declared constraints{where}", errors)


def malformed(detail: str) -> Refusal:
    """400: the body is not the JSON (or CSV) the endpoint takes."""
    return Refusal(400, "malformed-request", "Malformed request", detail)


def too_large(detail: str) -> Refusal:
    """413: the body or the number of rows is over the configured limit."""
    return Refusal(413, "request-too-large", "Request too large", detail)


def unavailable(detail: str) -> Refusal:
    """503: the model is not loaded or the online store is unreachable."""
    return Refusal(503, "not-ready", "Service not ready", detail)
