"""Records in, columns out: pandas, pyarrow or a list of dicts converted to the pipeline's types.

Every value is converted to its column's Spark type from the input schema; a value that does not
convert is a :class:`~lakeprep.errors.RecordError` naming the record and the column, a column the
pipeline reads that a record lacks names the column. Nothing is guessed.

>>> batch = to_batch([{"age": 3}], {"age": "double"}, ["age"])
>>> batch["age"].values.tolist()
[3.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakeprep.errors import RecordError
from lakeprep.inference.columns import Batch, Column, kind_of

ARROW_TYPES = {"double": pa.float64(), "float": pa.float32(), "decimal": pa.float64(),
               "long": pa.int64(), "int": pa.int32(), "short": pa.int16(), "byte": pa.int8(),
               "boolean": pa.bool_(), "string": pa.string(), "timestamp": pa.timestamp("us"),
               "date": pa.date32()}


def to_table(data: Any) -> pa.Table:
    """A pyarrow Table of ``data``: a pyarrow Table, a pandas DataFrame or a list of dicts."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, list):
        return _from_records(data)
    if hasattr(data, "to_dict") and hasattr(data, "columns"):  # pandas, without importing it
        return pa.Table.from_pandas(data, preserve_index=False)
    raise TypeError(f"records must be a pandas DataFrame, a pyarrow Table or a list of dicts, "
                    f"got {type(data).__name__}")


def _from_records(records: list[dict[str, Any]]) -> pa.Table:
    names: dict[str, None] = {}
    for i, r in enumerate(records):
        if not isinstance(r, dict):
            raise RecordError(f"record {i}: expected an object of column values, got "
                              f"{type(r).__name__}", record=i)
        names.update(dict.fromkeys(r))
    columns = {}
    for name in names:
        values = [r.get(name) for r in records]
        try:
            columns[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            columns[name] = _Mixed(values)  # mixed types: converted by the schema's type
    return _MixedTable(columns, len(records))  # type: ignore[return-value]


class _Mixed:
    """Python values of mixed types: converted value by value to the schema's type."""

    def __init__(self, values: list[Any]):
        self.values = values


class _MixedTable:
    """A table of arrow arrays and :class:`_Mixed` columns (records whose types disagree)."""

    def __init__(self, columns: dict[str, Any], rows: int):
        self.columns, self.num_rows = columns, rows
        self.column_names = list(columns)

    def column(self, name: str) -> Any:
        return self.columns[name]


def _first_bad(values: list[Any], arrow_type: pa.DataType) -> int:
    for i, v in enumerate(values):
        try:
            _convert(pa.array([v]), arrow_type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError,
                ValueError, OverflowError):
            return i
    return -1


def _convert(array: pa.Array, arrow_type: pa.DataType) -> pa.Array:
    if array.type == arrow_type:
        return array
    t = array.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        if pa.types.is_boolean(arrow_type) or pa.types.is_integer(arrow_type) \
                or pa.types.is_floating(arrow_type):
            raise pa.ArrowInvalid("a string where a number or boolean is expected")
    if pa.types.is_floating(t) and pa.types.is_integer(arrow_type):
        raise pa.ArrowInvalid("a fractional number where an integer is expected")
    if pa.types.is_boolean(t) and not pa.types.is_boolean(arrow_type):
        raise pa.ArrowInvalid("a boolean where another type is expected")
    if (pa.types.is_integer(t) or pa.types.is_floating(t)) and (
            pa.types.is_string(arrow_type) or pa.types.is_temporal(arrow_type)):
        raise pa.ArrowInvalid("a number where a string or timestamp is expected")
    if pa.types.is_timestamp(t) and t.tz is not None:
        array = pc.cast(array, pa.timestamp(t.unit, "UTC"))
    return pc.cast(array, arrow_type, safe=True)


def to_batch(data: Any, schema: dict[str, str], required: list[str]) -> Batch:
    """The columns of ``data`` as Spark would hold them; ``required`` columns must be present."""
    table = to_table(data)
    present = set(table.column_names)
    missing = [c for c in required if c not in present]
    if missing:
        raise RecordError(f"the records lack column(s) {missing} that the pipeline reads",
                          column=missing[0])
    batch: Batch = {}
    for name in table.column_names:
        raw = table.column(name)
        kind = schema.get(name)
        if kind is None:
            if isinstance(raw, _Mixed):
                continue  # not read by the pipeline and of no single type: left out
            kind = _kind_of_arrow(raw.type)
            if kind is None:
                continue
        batch[name] = _column(name, raw, kind)
    return batch


def _kind_of_arrow(t: pa.DataType) -> str | None:
    for kind, arrow_type in ARROW_TYPES.items():
        if t == arrow_type and kind not in ("decimal",):
            return kind
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_large_string(t):
        return "string"
    if pa.types.is_null(t):
        return "string"
    return None


def _column(name: str, raw: Any, kind: str) -> Column:
    target = ARROW_TYPES.get(kind)
    if target is None:
        raise RecordError(f"column {name!r}: {kind} inputs cannot be sent as records",
                          column=name)
    if isinstance(raw, _Mixed):
        values = raw.values
        try:
            arr = _convert(_strict_array(values, target), target)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError,
                ValueError, OverflowError):
            bad = max(_first_bad(values, target), 0)
            raise RecordError(f"record {bad}: column {name!r} has {values[bad]!r}, not a "
                              f"{kind}", record=bad, column=name) from None
    else:
        array = raw.combine_chunks() if isinstance(raw, pa.ChunkedArray) else raw
        try:
            arr = _convert(array, target)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as err:
            values = array.to_pylist()
            bad = _first_bad(values, target)
            if bad < 0:
                raise RecordError(f"column {name!r}: cannot convert to {kind}: {err}",
                                  column=name) from None
            raise RecordError(f"record {bad}: column {name!r} has {values[bad]!r}, not a "
                              f"{kind}", record=bad, column=name) from None
    return from_arrow(arr, kind)


def _strict_array(values: list[Any], target: pa.DataType) -> pa.Array:
    """Values of mixed Python types: each must already be of the target's family."""
    for v in values:
        if v is None:
            continue
        if isinstance(v, bool) and not pa.types.is_boolean(target):
            raise TypeError("bool")
        if isinstance(v, str) and not (pa.types.is_string(target)
                                       or pa.types.is_temporal(target)):
            raise TypeError("str")
        if isinstance(v, float) and pa.types.is_integer(target):
            raise TypeError("float")
        if isinstance(v, int | float) and (pa.types.is_string(target)
                                           or pa.types.is_temporal(target)):
            raise TypeError("number")
    if pa.types.is_temporal(target):
        return pa.array(values)
    return pa.array(values, target)


def from_arrow(arr: pa.Array, kind: str) -> Column:
    """A runtime column from an arrow array already of ``kind``'s arrow type."""
    valid = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    if kind == "string":
        values = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object)
        return Column(kind, values, valid)
    if kind in ("timestamp", "date"):
        ints = pc.cast(arr, pa.int64()) if kind == "timestamp" else pc.cast(
            pc.cast(arr, pa.int32()), pa.int64())
        values = np.asarray(ints.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
        return Column(kind, values, valid)
    filled = arr.fill_null(False if kind == "boolean" else 0)
    values = np.asarray(filled.to_numpy(zero_copy_only=False))
    if kind in ("double", "float", "decimal"):
        values = values.astype(np.float64)
    elif kind != "boolean":
        values = values.astype(np.int64)
    return Column(kind, values, valid)


__all__ = ["to_batch", "to_table", "from_arrow", "kind_of"]
