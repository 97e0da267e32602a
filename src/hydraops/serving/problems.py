"""Refusals as RFC 9457 problem details (``application/problem+json``): one response per request listing
every failing field with the declared constraint it broke and the row it is in, never the value sent."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

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


@dataclass
class Problem(Exception):
    """A refused request: ``kind`` is the last segment of the problem's ``type`` URI."""

    status: int
    kind: str
    title: str
    detail: str
    errors: list[FieldError] = field(default_factory=list)

    def document(self, request_id: str | None = None) -> dict:
        """The problem details, with the extension members ``errors`` and ``request_id`` (as in ``x-request-id``)."""
        document = {"type": _TYPE_BASE + self.kind, "title": self.title, "status": self.status, "detail": self.detail}
        if self.errors:
            document["errors"] = [asdict(error) for error in self.errors]
        if request_id:
            document["request_id"] = request_id
        return document

    def body(self, request_id: str | None = None) -> bytes:
        return json.dumps(self.document(request_id)).encode()


def invalid(errors: list[FieldError]) -> Problem:
    """422: the rows break the declared features' constraints."""
    rows = sorted({error.row for error in errors if error.row is not None})
    where = f" in row(s) {', '.join(map(str, rows))}" if rows else ""
    return Problem(422, "invalid-input", "Invalid input", f"{len(errors)} field(s) fail their declared constraints{where}", errors)


def malformed(detail: str) -> Problem:
    """400: the body is not the JSON (or CSV) the endpoint takes."""
    return Problem(400, "malformed-request", "Malformed request", detail)


def too_large(detail: str) -> Problem:
    """413: the body or the number of rows is over the configured limit."""
    return Problem(413, "request-too-large", "Request too large", detail)


def unavailable(detail: str) -> Problem:
    """503: the model is not loaded or the online store is unreachable."""
    return Problem(503, "not-ready", "Service not ready", detail)
