"""Spark vs the inference runtime on the same rows: fit with Spark, save, transform both ways,
compare cell by cell (doubles by their bytes, NaN payloads aside; vectors by kind, size,
indices and value bytes)."""

from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import Any

import numpy as np
from pyspark.ml.linalg import DenseVector, SparseVector
from pyspark.sql import DataFrame

from features.persistence import load_for_inference
from features.spec import build_pipeline
from lakeprep.inference import SparseVector as RuntimeSparse
from lakeprep.inference import load
from lakeprep.inference.schema import SCHEMA_FILE, schema_json


def fit_and_save(spec: dict[str, Any], train: DataFrame, folder: Path) -> str:
    """Fit ``spec`` on ``train`` with Spark, save it with its input schema; the folder."""
    model = build_pipeline(spec, train.columns).fit(train)
    model.write().overwrite().save(str(folder))
    (folder / SCHEMA_FILE).write_text(schema_json(
        (f.name, f.dataType.simpleString()) for f in train.schema.fields))
    return str(folder)


def _bits(x: float) -> bytes:
    return b"nan" if isinstance(x, float) and math.isnan(x) else struct.pack(">d", x)


def _same(spark_value: Any, ours: Any) -> bool:
    if spark_value is None or ours is None:
        return spark_value is None and ours is None
    if isinstance(spark_value, SparseVector):
        return (isinstance(ours, RuntimeSparse) and ours.size == spark_value.size
                and list(ours.indices) == list(spark_value.indices)
                and [_bits(float(v)) for v in ours.values]
                == [_bits(float(v)) for v in spark_value.values])
    if isinstance(spark_value, DenseVector):
        return (isinstance(ours, np.ndarray) and len(ours) == len(spark_value)
                and [_bits(float(v)) for v in ours] == [_bits(float(v)) for v in spark_value])
    if isinstance(spark_value, float):
        return isinstance(ours, float | np.floating) and _bits(spark_value) == _bits(float(ours))
    if isinstance(spark_value, bool):
        return bool(ours) == spark_value and isinstance(ours, bool | np.bool_)
    if isinstance(spark_value, int):
        return isinstance(ours, int | np.integer) and int(ours) == spark_value
    return spark_value == ours


def differences(model_dir: str, rows: DataFrame, ulps: dict[str, int] | None = None
                ) -> list[str]:
    """Every cell where the runtime's transform of ``rows`` differs from Spark's.

    ``ulps`` allows a column (or vector slots fed from it) that many ulps: the ops whose math
    Java and numpy cannot agree on to the bit (sin/cos, see the op reference).
    """
    expected = load_for_inference(model_dir).transform(rows).collect()
    records = [r.asDict() for r in rows.collect()]
    got = load(model_dir).transform(records)
    problems = []
    names = list(expected[0].asDict()) if expected else []
    if list(got.columns) != names:
        return [f"columns differ: spark {names} runtime {list(got.columns)}"]
    if len(got) != len(expected):
        return [f"rows differ: spark {len(expected)} runtime {len(got)}"]
    tolerance = ulps or {}
    for i, row in enumerate(expected):
        for name in names:
            want, have = row[name], got[name].iloc[i]
            if _same(want, have):
                continue
            if name in tolerance and isinstance(want, float) and have is not None \
                    and ulp_distance(want, float(have)) <= tolerance[name]:
                continue
            problems.append(f"row {i} column {name}: spark {want!r} runtime {have!r}")
    return problems


def ulp_distance(a: float, b: float) -> int:
    """How many doubles apart ``a`` and ``b`` are (0 when both are NaN)."""
    if math.isnan(a) or math.isnan(b):
        return 0 if math.isnan(a) and math.isnan(b) else 2 ** 63
    ia, ib = (struct.unpack(">q", struct.pack(">d", v))[0] for v in (a, b))
    ia = ia if ia >= 0 else -(ia & 0x7FFFFFFFFFFFFFFF)
    ib = ib if ib >= 0 else -(ib & 0x7FFFFFFFFFFFFFFF)
    return abs(ia - ib)
