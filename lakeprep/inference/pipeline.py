"""A saved pipeline applied without Spark: load the folder, transform records with numpy.

For example::

    pipe = load("lakeprep-data/features/models/taxi_tips_features/RUN")
    pipe.transform([{"pickup_datetime": "2019-01-03 10:00:00", "trip_distance": 2.5, ...}])
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from lakeprep.errors import InputError
from lakeprep.inference.columns import Batch, Column, batch_rows
from lakeprep.inference.model_folder import read_stages, read_text
from lakeprep.inference.records import to_batch
from lakeprep.inference.schema import SCHEMA_FILE, parse_schema
from lakeprep.inference.stages import load_stage
from lakeprep.inference.stages.base import Stage

log = logging.getLogger(__name__)
SCHEMA_ENV = "SAGEMAKER_SPARKML_SCHEMA"
MODEL_DIR = "/opt/ml/model"  # where SageMaker unpacks the model data
EPOCH = datetime(1970, 1, 1)  # timestamps are UTC, as in lakeprep's sessions


@dataclass(frozen=True)
class SparseVector:
    """A vector Spark stores sparse: its size, the stored indices and their values."""

    size: int
    indices: np.ndarray
    values: np.ndarray

    def toArray(self) -> np.ndarray:  # noqa: N802 - the name pyspark.ml.linalg uses
        """The dense values."""
        out = np.zeros(self.size)
        out[self.indices] = self.values
        return out


class InferencePipeline:
    """The stages of a saved pipeline, applied in order to batches of records."""

    def __init__(self, uri: str, stages: list[Stage], schema: dict[str, str] | None):
        self.uri, self.stages, self.schema = uri, stages, schema
        produced: set[str] = set()
        required: dict[str, None] = {}
        for stage in stages:
            required.update({c: None for c in stage.reads if c not in produced})
            produced.update(stage.writes)
        self.required = list(required)
        self.outputs = list(dict.fromkeys(c for s in stages for c in s.writes))
        if schema is not None:
            lacking = [c for c in self.required if c not in schema]
            if lacking:
                raise InputError(f"{uri}: the input schema lacks column(s) {lacking} that the "
                                 f"pipeline reads")
            self.transform_batch({c: _empty(k) for c, k in schema.items()})  # types check

    def transform_batch(self, data: Any, schema: dict[str, str] | None = None) -> Batch:
        """The columns Spark's ``transform`` gives, as runtime columns."""
        if isinstance(data, dict):
            batch = dict(data)
        else:
            kinds = schema or self.schema
            if kinds is None:
                raise InputError(f"{self.uri}: no input schema ({SCHEMA_FILE} beside the model, "
                                 f"${SCHEMA_ENV} or a schema in the request): column types "
                                 f"decide Spark's output, so none is guessed")
            batch = to_batch(data, kinds, self.required)
        for stage in self.stages:
            batch = stage.transform(batch)
        return batch

    def transform(self, data: Any, schema: dict[str, str] | None = None) -> Any:
        """Spark's transform of ``data`` (pandas, pyarrow or a list of dicts) as a pandas
        DataFrame: nulls are None, vectors numpy arrays or :class:`SparseVector`."""
        import pandas as pd

        batch = self.transform_batch(data, schema)
        return pd.DataFrame({name: cells(col) for name, col in batch.items()},
                            index=range(batch_rows(batch)))


def cells(col: Column) -> np.ndarray:
    """A column as cells: a numpy array when it has no null, else an object array of Python
    values and None (so pandas keeps ints as ints); vectors dense arrays or SparseVector."""
    if col.kind == "vector":
        out: list[Any] = []
        for i in range(len(col)):
            if not col.valid[i]:
                out.append(None)
            elif col.sparse is not None and col.sparse[i]:
                idx = np.flatnonzero(col.active[i]) if col.active is not None else np.flatnonzero(
                    col.values[i])
                out.append(SparseVector(col.size, idx, col.values[i, idx]))
            else:
                out.append(col.values[i].copy())
        return _objects(out)
    values: list[Any]
    if col.kind == "timestamp":
        values = [EPOCH + timedelta(microseconds=v) for v in col.values.tolist()]
    elif col.kind == "date":
        values = [EPOCH.date() + timedelta(days=v) for v in col.values.tolist()]
    elif col.valid.all() and col.kind != "string":
        return col.values
    else:
        values = col.values.tolist()
    return _objects([v if ok else None for v, ok in zip(values, col.valid, strict=True)])


def _objects(items: list[Any]) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def _empty(kind: str) -> Column:
    if kind == "vector":
        return Column("vector", np.zeros((0, 0)), np.zeros(0, bool), np.zeros(0, bool),
                      np.zeros((0, 0), bool))
    dtype = object if kind == "string" else (np.bool_ if kind == "boolean" else
                                             np.float64 if kind in ("double", "float", "decimal")
                                             else np.int64)
    return Column(kind, np.zeros(0, dtype), np.zeros(0, bool))


def load(uri: str, schema: str | dict | None = None) -> InferencePipeline:
    """The saved pipeline at ``uri`` (local or s3://), every stage supported or refused.

    The input schema comes from ``schema``, else ``input_schema.json`` beside the model, else
    ``$SAGEMAKER_SPARKML_SCHEMA``; without one, each request must bring its own.
    """
    stages = []
    for saved in read_stages(uri):
        stages.append(load_stage(saved))
    source = "schema"
    if schema is None:
        text = read_text(f"{uri.rstrip('/')}/{SCHEMA_FILE}")
        source = f"{uri.rstrip('/')}/{SCHEMA_FILE}"
        if text is None and os.environ.get(SCHEMA_ENV):
            text, source = os.environ[SCHEMA_ENV], f"${SCHEMA_ENV}"
        schema = text
    kinds = parse_schema(schema, source) if schema is not None else None
    pipeline = InferencePipeline(uri, stages, kinds)
    log.info("loaded %s: %d stages, reads %s", uri, len(stages), pipeline.required)
    return pipeline
