"""The other wire formats, as rows for the one path the native ``/predict`` takes (validation, lookup, the
same Predictor), so every format gives the same predictions bit for bit:

    MLflow's /invocations    JSON {"dataframe_split" | "dataframe_records" | "instances" | "inputs": ...}
                             or text/csv with a header; answered {"predictions": [...]}
    Open Inference v2        POST /v2/models/{name}/infer {"inputs": [{"name", "shape", "datatype", "data"}]}
                             (one input per column); GET /v2/models/{name} its metadata
"""

from __future__ import annotations

import math
from typing import Any

from hydraops.serving.problems import FieldError, Refusal, invalid, malformed
from hydraops.serving.spec import ServingSpec
from hydraops.serving.validation import loads

MLFLOW_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
OIP_DATATYPES = {"int64": "INT64", "float64": "FP64", "bool": "BOOL"}  # everything else: BYTES


def mlflow_rows(body: bytes, content_type: str, spec: ServingSpec) -> list[dict[str, Any]]:
    """The rows of an MLflow scoring request (``mlflow models serve``'s formats)."""
    if content_type.split(";")[0].strip().lower() == "text/csv":
        return csv_rows(body, spec)
    document = loads(body)
    if not isinstance(document, dict):
        raise invalid([FieldError(None, "", "type=object", f"the body must be a JSON object with one of {', '.join(MLFLOW_KEYS)}")])
    given = [key for key in MLFLOW_KEYS if key in document]
    if len(given) != 1:
        raise invalid([FieldError(None, "", "one of", f"the body must have exactly one of {', '.join(MLFLOW_KEYS)} (it has {len(given)})")])
    key, value = given[0], document[given[0]]
    if key == "dataframe_split":
        if not isinstance(value, dict) or not isinstance(value.get("columns"), list) or not isinstance(value.get("data"), list):
            raise invalid([FieldError(None, key, "type=object", f'\'{key}\' must be {{"columns": [...], "data": [[...], ...]}}')])
        return _table(value["columns"], value["data"], key)
    if isinstance(value, dict):  # instances/inputs as columns: {"name": [values...]}
        return _columns(value, key)
    if isinstance(value, list) and all(isinstance(row, dict) for row in value):
        return value
    if key != "dataframe_records" and isinstance(value, list) and all(isinstance(row, list) for row in value):
        return _table(spec.feature_names, value, key)  # positional: the model's inputs in its order
    raise invalid([FieldError(None, key, "type=array", f"'{key}' must be an array of objects (or of arrays in the model's input order)")])


def csv_rows(body: bytes, spec: ServingSpec) -> list[dict[str, Any]]:
    """CSV with a header row; empty cells are null, integral numbers of int64 inputs are integers."""
    import io

    import pandas as pd

    try:
        frame = pd.read_csv(io.BytesIO(body), float_precision="round_trip")  # floats exactly as written
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise malformed(f"the body is not CSV with a header row ({type(error).__name__})") from None
    integers = {f.name for f in spec.features if f.dtype == "int64"}
    rows = []
    for record in frame.to_dict("records"):
        rows.append({name: _csv_value(value, name in integers) for name, value in record.items()})
    return rows


def oip_rows(document: Any) -> tuple[list[dict[str, Any]], Any]:
    """The rows of an Open Inference Protocol v2 request (one input tensor per column) and its ``id``."""
    if not isinstance(document, dict) or not isinstance(document.get("inputs"), list) or not document["inputs"]:
        raise invalid([FieldError(None, "inputs", "type=array", "'inputs' must be a non-empty array of {name, shape, datatype, data}")])
    columns, errors = {}, []
    for position, tensor in enumerate(document["inputs"]):
        if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str) or not isinstance(tensor.get("data"), list):
            errors.append(FieldError(None, f"inputs[{position}]", "type=object", f"inputs[{position}] must have a string 'name' and a 'data' array"))
            continue
        data = [v[0] if isinstance(v, list) and len(v) == 1 else v for v in tensor["data"]]  # shape [n, 1] → [n]
        shape = tensor.get("shape")
        if isinstance(shape, list) and shape and all(isinstance(s, int) for s in shape) and math.prod(shape) != len(data):
            errors.append(FieldError(None, tensor["name"], "shape", f"input '{tensor['name']}' has {len(data)} values for shape {shape}"))
        columns[tensor["name"]] = data
    if errors:
        raise invalid(errors)
    return _columns(columns, "inputs"), document.get("id")


def oip_metadata(spec: ServingSpec) -> dict[str, Any]:
    """``GET /v2/models/{name}``: the model's name, version and input and output tensors."""
    keys = {key: view.key_types.get(key) for view in spec.views for key in view.join_keys}
    return {
        "name": spec.model.name,
        "versions": [spec.model.version],
        "platform": f"hydraops-{spec.model.flavor}",
        "inputs": [{"name": f.name, "datatype": OIP_DATATYPES.get(f.dtype or "", "BYTES"), "shape": [-1]} for f in spec.features]
        + [
            {"name": key, "datatype": "INT64" if kind == "integer" else "BYTES", "shape": [-1], "parameters": {"entity_key": True}}
            for key, kind in keys.items()
        ],
        "outputs": [{"name": "predictions", "datatype": "FP64", "shape": [-1]}],
    }


def oip_response(spec: ServingSpec, predictions: list[float], request_id: Any) -> dict[str, Any]:
    response = {"model_name": spec.model.name, "model_version": spec.model.version,
                "outputs": [{"name": "predictions", "datatype": "FP64", "shape": [len(predictions)], "data": predictions}]}  # fmt: skip
    if request_id is not None:
        response["id"] = request_id
    return response


def _table(columns: Any, data: list, key: str) -> list[dict[str, Any]]:
    if not all(isinstance(c, str) for c in columns) or len(set(columns)) != len(columns):
        raise invalid([FieldError(None, f"{key}.columns", "type=array of unique strings", f"'{key}' columns must be unique strings")])
    errors = [FieldError(i, key, f"length={len(columns)}", f"row {i} must be an array of {len(columns)} values")
              for i, row in enumerate(data) if not isinstance(row, list) or len(row) != len(columns)]  # fmt: skip
    if errors:
        raise invalid(errors)
    return [dict(zip(columns, row)) for row in data]


def _columns(columns: dict[str, Any], key: str) -> list[dict[str, Any]]:
    lengths = {name: len(values) for name, values in columns.items() if isinstance(values, list)}
    if len(lengths) != len(columns) or len(set(lengths.values())) != 1:
        raise invalid([FieldError(None, key, "columns of equal length", f"'{key}' as columns must map each name to an array, all of one length")])
    count = next(iter(lengths.values()))
    return [{name: values[i] for name, values in columns.items()} for i in range(count)]


def _csv_value(value: Any, integer: bool) -> Any:
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if integer and value.is_integer():
            return int(value)
    return value.item() if hasattr(value, "item") else value


__all__ = ["MLFLOW_KEYS", "Refusal", "csv_rows", "mlflow_rows", "oip_metadata", "oip_response", "oip_rows"]
