"""The checks a request passes before the model runs: the body's shape and limits, then every row's
fields against the declared features (dtype, nullable, ge/le, isin) and the views' entity keys.

Every failure is collected (one response lists them all); a message names the field, the declared
constraint and the row, never the value sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hydraops.serving.problems import FieldError, Refusal, invalid, malformed, too_large
from hydraops.serving.spec import FeatureField, ServingSpec

_TOP_LEVEL = ("rows", "explain", "top_k")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_DTYPES = {
    "int64": ("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "float64": ("a number", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)),
    "bool": ("true or false", lambda v: isinstance(v, bool)),
    "string": ("a string", lambda v: isinstance(v, str)),
    "category": ("a string or an integer", lambda v: isinstance(v, (str, int)) and not isinstance(v, bool)),
    "timestamp": ("an ISO 8601 timestamp string", lambda v: isinstance(v, str) and _is_iso(v)),
}


@dataclass(frozen=True)
class PredictRequest:
    """A native ``POST /predict`` body, its shape checked: the rows (JSON objects) and the options."""

    rows: list[dict[str, Any]]
    explain: bool = False
    top_k: int | None = None


def loads(body: bytes) -> Any:
    """The JSON document of ``body``; a 400 problem for anything else (NaN and Infinity included)."""
    try:
        return json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as error:
        where = f" at line {error.lineno} column {error.colno}" if isinstance(error, json.JSONDecodeError) else ""
        raise malformed(f"the body is not valid JSON{where}") from None


def parse_predict(body: bytes, service: dict[str, Any]) -> PredictRequest:
    """The request in ``body``: ``{"rows": [{...}], "explain": false, "top_k": null}``; problems for a
    malformed body (400), a wrong shape (422) and more rows than ``max_rows`` (413)."""
    document = loads(body)
    if not isinstance(document, dict):
        raise invalid([FieldError(None, "", "type=object", 'the body must be a JSON object {"rows": [...]}')])
    errors = []
    unknown = [key for key in document if key not in _TOP_LEVEL]
    errors += [FieldError(None, key, "unknown", f"'{key}' is not a request field (expected {', '.join(_TOP_LEVEL)})") for key in unknown]
    rows = document.get("rows")
    if not isinstance(rows, list) or not rows:
        errors.append(FieldError(None, "rows", "type=array", "'rows' must be a non-empty array of objects"))
    else:
        errors += [FieldError(i, "rows", "type=object", f"row {i} must be a JSON object") for i, row in enumerate(rows) if not isinstance(row, dict)]
    explain = document.get("explain", False)
    if not isinstance(explain, bool):
        errors.append(FieldError(None, "explain", "type=bool", "'explain' must be true or false"))
    top_k = document.get("top_k")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        errors.append(FieldError(None, "top_k", "type=int, ge=1", "'top_k' must be a positive integer or null"))
    if errors:
        raise invalid(errors)
    check_row_count(len(rows), service)
    return PredictRequest(rows, explain, top_k)


def check_row_count(count: int, service: dict[str, Any]) -> None:
    limit = int(service.get("max_rows", 1000))
    if count > limit:
        raise too_large(f"{count} rows: at most {limit} per request (deploy.service.max_rows)")


#: An entity key's declared kind → the Python types it accepts and how the refusal names them (undeclared: either).
_KEY_KINDS = {"integer": (int, "an integer"), "string": (str, "a string")}


def validate_rows(spec: ServingSpec, rows: list[dict[str, Any]]) -> list[FieldError]:
    """Every failing field of ``rows``: given feature values against their declarations, unknown fields
    (when ``deploy.service.unknown_fields`` is ``reject``), and the entity keys each row needs for the
    features it does not give."""
    declared = {f.name: f for f in spec.features}
    keys = {key: view.key_types.get(key) for view in spec.views for key in view.join_keys}
    reject_unknown = spec.service.get("unknown_fields", "reject") == "reject"
    online = spec.service.get("online_features", True) and bool(spec.views)
    looked_up = {name for view in spec.views for name in view.features} if online else set()
    errors: list[FieldError] = []
    for index, row in enumerate(rows):
        for name, value in row.items():
            if name in declared:
                errors += [
                    FieldError(index, name, constraint, message)
                    for constraint, message in check_value(declared[name], value, numeric=name not in spec.categories)
                ]
            elif name in keys:
                accepted, expected = _KEY_KINDS.get(keys[name], ((str, int), "a string or an integer"))
                if isinstance(value, bool) or not isinstance(value, accepted):
                    errors.append(FieldError(index, name, "entity key", f"entity key '{name}' must be {expected}"))
            elif reject_unknown:
                errors.append(FieldError(index, name, "unknown", f"'{name}' is neither a feature of the model nor an entity key (GET /schema)"))
        for view in spec.views if online else ():
            needed = [name for name in view.features if name not in row]
            for key in view.join_keys if needed else ():
                if key not in row:
                    errors.append(FieldError(index, key, "required", f"entity key '{key}' of view '{view.name}' is required to look up {', '.join(needed)} (or give them)"))  # fmt: skip
        for field in spec.features:
            if field.name not in row and field.name not in looked_up and not field.nullable:
                errors.append(FieldError(index, field.name, "required", f"'{field.name}' is required (nullable=false, not looked up online)"))
    return errors


def check_value(field: FeatureField, value: Any, *, numeric: bool = False) -> list[tuple[str, str]]:
    """(constraint, message) for each declaration ``value`` breaks; empty when it passes. ``numeric``: the
    model takes the input as a number (it is not categorical), whatever its declared dtype."""
    name = field.name
    if value is None:
        return [] if field.nullable else [("nullable=false", f"'{name}' must not be null")]
    if isinstance(value, (dict, list)):
        return [(f"dtype={field.dtype or 'scalar'}", f"'{name}' must be a single value, not an object or array")]
    if field.dtype in _DTYPES:
        expected, accepts = _DTYPES[field.dtype]
        if not accepts(value):
            return [(f"dtype={field.dtype}", f"'{name}' must be {expected}")]
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if numeric and not (number or isinstance(value, bool)):
        return [(f"dtype={field.dtype or 'number'}", f"'{name}' must be a number (the model takes it as one)")]
    if isinstance(value, int) and not isinstance(value, bool) and not _INT64_MIN <= value <= _INT64_MAX:
        return [(f"dtype={field.dtype or 'number'}", f"'{name}' must be within the 64-bit integer range")]
    failures = []
    if field.ge is not None and (not number or value < field.ge):
        failures.append((f"ge={field.ge:g}", f"'{name}' must be a number >= {field.ge:g}"))
    if field.le is not None and (not number or value > field.le):
        failures.append((f"le={field.le:g}", f"'{name}' must be a number <= {field.le:g}"))
    if field.isin is not None and value not in field.isin:
        listed = ", ".join(map(str, field.isin)) if len(field.isin) <= 10 else f"{len(field.isin)} values, GET /schema"
        failures.append((f"isin=[{listed}]", f"'{name}' must be one of the declared values"))
    return failures


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _is_iso(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def schema_document(spec: ServingSpec) -> dict[str, Any]:
    """``GET /schema``: the model, each input with its declared constraints and where it comes from, and
    the entity keys of each view looked up online."""
    return {
        "model": {"name": spec.model.name, "version": spec.model.version},
        "task": spec.task,
        "features": [
            {
                "name": f.name,
                "dtype": f.dtype,
                "nullable": f.nullable,
                "ge": f.ge,
                "le": f.le,
                "isin": f.isin,
                "categories": spec.categories.get(f.name),
                "view": f.view,
            }  # fmt: skip
            for f in spec.features
        ],
        "views": [
            {"name": v.name, "entity_keys": v.join_keys, "key_types": v.key_types, "features": v.features, "ttl_seconds": v.ttl_seconds} for v in spec.views
        ],
        "request": {"rows": "array of objects: entity keys and/or feature values", "explain": "bool", "top_k": "int or null"},
        "limits": {key: spec.service.get(key) for key in ("max_rows", "max_body_bytes", "unknown_fields", "missing")},
    }


__all__ = ["PredictRequest", "Refusal", "check_row_count", "check_value", "loads", "parse_predict", "schema_document", "validate_rows"]
