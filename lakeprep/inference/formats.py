"""Request and response bodies of the serving container: CSV, JSON lines, SparkML-serving JSON.

CSV rows carry the input schema's columns in its order, no header (what SageMaker's SparkML
serving container reads); an empty field is null. JSON lines carry one object per record. The
SparkML-serving JSON (``application/json``) is ``{"schema": {...}, "data": [...]}`` with one
record's values (or a list of them) in the schema's order.

>>> parse_csv("1.5,DE\\n", {"amount": "double", "country": "string"})
[{'amount': 1.5, 'country': 'DE'}]
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from lakeprep.errors import RecordError
from lakeprep.inference.columns import FLOATING, INTEGRAL, Column

_TRUE, _FALSE = ("true", "1"), ("false", "0")
SMALL_CSV = 256  # lines below which parse_csv beats pyarrow's reader (0.005 vs 0.5 ms a line)


def _value(text: str, kind: str, record: int, column: str) -> Any:
    if text == "":
        return None
    try:
        if kind in (*FLOATING, "decimal"):
            return float(text)
        if kind in INTEGRAL:
            return int(text)
        if kind == "boolean":
            if text.lower() in _TRUE + _FALSE:
                return text.lower() in _TRUE
            raise ValueError(text)
    except ValueError:
        raise RecordError(f"record {record}: column {column!r} has {text!r}, not a {kind}",
                          record=record, column=column) from None
    return text  # string, timestamp (ISO text) and date values are converted by the schema


def parse_csv(body: str, schema: dict[str, str]) -> list[dict[str, Any]]:
    """Records of a CSV body whose fields follow ``schema``'s columns in order (the slow,
    precise path: it names the record and column of a bad value)."""
    names = list(schema)
    records: list[dict[str, Any]] = []
    for row in csv.reader(io.StringIO(body)):
        if not row:
            continue
        if len(row) != len(names):
            column = names[len(row)] if len(row) < len(names) else None
            raise RecordError(f"record {len(records)}: {len(row)} fields, the schema has "
                              f"{len(names)} ({', '.join(names)})"
                              + (f"; column {column!r} is missing" if column else ""),
                              record=len(records), column=column)
        records.append({n: _value(t, schema[n], len(records), n)
                        for n, t in zip(names, row, strict=True)})
    return records


def read_csv(body: str, schema: dict[str, str]) -> pa.Table | list[dict[str, Any]]:
    """A CSV body as a typed pyarrow Table (fast); on any problem the records of
    :func:`parse_csv`, whose errors name the record and the column."""
    from lakeprep.inference.records import ARROW_TYPES

    if body.count("\n") < SMALL_CSV or any(k not in ARROW_TYPES for k in schema.values()):
        return parse_csv(body, schema)  # a few records: Python's csv is faster than a reader
    names = list(schema)
    try:
        return pacsv.read_csv(
            io.BytesIO(body.encode()),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types={n: ARROW_TYPES[k] for n, k in schema.items()},
                null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return parse_csv(body, schema)


def parse_jsonlines(body: str) -> list[dict[str, Any]]:
    """Records of a JSON-lines body: one object per non-empty line."""
    records: list[dict[str, Any]] = []
    for line in body.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as err:
            raise RecordError(f"record {len(records)}: not JSON ({err})",
                              record=len(records)) from None
        if not isinstance(record, dict):
            raise RecordError(f"record {len(records)}: expected a JSON object of column "
                              f"values, got {type(record).__name__}", record=len(records))
        records.append(record)
    return records


def parse_sparkml_json(body: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """(schema or None, records) of a SparkML-serving JSON body."""
    try:
        doc = json.loads(body)
    except ValueError as err:
        raise RecordError(f"the body is not JSON ({err})") from None
    if not isinstance(doc, dict) or "data" not in doc:
        raise RecordError('expected {"schema": {...}, "data": [...]} (SparkML serving JSON)')
    schema = doc.get("schema")
    names = [f["name"] for f in schema["input"]] if isinstance(schema, dict) else None
    data = doc["data"]
    rows = data if data and isinstance(data[0], list) else [data]
    if names is None:
        raise RecordError("SparkML serving JSON without a schema: give it in the request or "
                          "in $SAGEMAKER_SPARKML_SCHEMA")
    records = []
    for i, row in enumerate(rows):
        if len(row) != len(names):
            raise RecordError(f"record {i}: {len(row)} values, the schema has {len(names)}",
                              record=i)
        records.append(dict(zip(names, row, strict=True)))
    return schema, records


def _text(values: np.ndarray) -> pa.Array:
    """Numbers as the shortest text that reads back to the same double ("nan", "inf")."""
    return pc.cast(pa.array(values), pa.string())


def _line(col: Column, i: int) -> str:
    if not col.valid[i]:
        return "\n"
    if col.kind == "vector":
        return ",".join(map(repr, col.values[i].tolist())) + "\n"
    value = col.values[i].item() if hasattr(col.values[i], "item") else col.values[i]
    return (repr(float(value)) if isinstance(value, float) else str(value)) + "\n"


def to_csv(col: Column) -> str:
    """One line per record: a vector's values (dense), or the value; null is empty."""
    if len(col) == 0:
        return ""
    if len(col) < SMALL_CSV:  # a few records: repr (also the shortest exact text) is faster
        return "".join(_line(col, i) for i in range(len(col)))
    if col.kind == "vector":
        if col.size == 0:
            return "\n" * len(col)
        fields = [_text(col.values[:, j]) for j in range(col.size)]
        lines = pc.binary_join_element_wise(*fields, ",")
    elif col.kind == "string":
        lines = pa.array(col.values, pa.string())
    else:
        lines = _text(col.values.astype(np.float64) if col.kind == "boolean" else col.values)
    lines = pc.if_else(pa.array(col.valid), lines, "")
    return "\n".join(lines.to_pylist()) + "\n"


def to_jsonlines(col: Column, name: str) -> str:
    """One JSON object per record, ``{name: value}``; a sparse vector as size/indices/values."""
    lines = []
    for i in range(len(col)):
        if not col.valid[i]:
            value: Any = None
        elif col.kind == "vector":
            row = col.values[i]
            if col.sparse is not None and col.sparse[i]:
                idx = np.flatnonzero(col.active[i] if col.active is not None else row)
                value = {"size": int(row.shape[0]), "indices": idx.tolist(),
                         "values": row[idx].tolist()}
            else:
                value = row.tolist()
        else:
            value = col.values[i].item() if hasattr(col.values[i], "item") else col.values[i]
        lines.append(json.dumps({name: value}))
    return "\n".join(lines) + "\n"
