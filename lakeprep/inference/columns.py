"""Columns as the runtime holds them: a numpy array of values, a validity mask, Spark's type.

A batch is an ordered ``dict`` of :class:`Column` (Spark's column order: a stage that writes an
existing name replaces it in place, a new name is appended). Kinds are Spark SQL types:

- ``double``/``float``: float64 values (a float column holds float32 values, widened exactly);
- ``long``/``int``/``short``/``byte``: int64 values; ``boolean``: bool values;
- ``string``: an object array of ``str``; ``timestamp``: int64 microseconds since the epoch
  (UTC); ``date``: int64 days since the epoch;
- ``vector``: float64 rows (n, size); ``sparse`` marks the rows Spark stores as a SparseVector
  and ``active`` the entries such a row stores (a stored entry may hold 0.0, as MLlib's may).

>>> Column.of("double", [1.0, None]).valid.tolist()
[True, False]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

NUMERIC = ("double", "float", "long", "int", "short", "byte", "decimal")
INTEGRAL = ("long", "int", "short", "byte")
FLOATING = ("double", "float")
KINDS = (*NUMERIC, "boolean", "string", "timestamp", "date", "vector")
# Spark's simpleString names of the types above
SPARK_NAMES = {"bigint": "long", "integer": "int", "smallint": "short", "tinyint": "byte",
               "timestamp_ntz": "timestamp"}
_DTYPES = {"double": np.float64, "float": np.float64, "decimal": np.float64, "long": np.int64,
           "int": np.int64, "short": np.int64, "byte": np.int64, "boolean": np.bool_,
           "timestamp": np.int64, "date": np.int64}


def kind_of(spark_type: str) -> str:
    """The runtime kind of a Spark type name (``bigint`` -> ``long``, ``decimal(10,2)``...)."""
    name = spark_type.strip().lower()
    if name.startswith("decimal"):
        return "decimal"
    return SPARK_NAMES.get(name, name)


@dataclass
class Column:
    """One column: values, where they are valid (not null), and the Spark kind."""

    kind: str
    values: np.ndarray
    valid: np.ndarray
    sparse: np.ndarray | None = field(default=None)  # vectors: rows Spark keeps sparse
    active: np.ndarray | None = field(default=None)  # vectors: entries a sparse row stores

    def __len__(self) -> int:
        return len(self.valid)

    @classmethod
    def of(cls, kind: str, items: list) -> Column:
        """A column from Python values (None is null), for tests and small inputs."""
        valid = np.array([v is not None for v in items], dtype=bool)
        if kind == "string":
            return cls(kind, np.array(items, dtype=object), valid)
        filler = 0
        values = np.array([filler if v is None else v for v in items], dtype=_DTYPES[kind])
        return cls(kind, values, valid)

    @classmethod
    def numeric(cls, kind: str, values: np.ndarray, valid: np.ndarray | None = None) -> Column:
        """A numeric column; ``valid`` defaults to every row."""
        return cls(kind, values, np.ones(len(values), bool) if valid is None else valid)

    def take(self, rows: np.ndarray) -> Column:
        """The column at the given row positions (or boolean mask)."""
        return Column(self.kind, self.values[rows], self.valid[rows],
                      None if self.sparse is None else self.sparse[rows],
                      None if self.active is None else self.active[rows])

    @property
    def size(self) -> int:
        """A vector column's length."""
        return int(self.values.shape[1])

    def as_double(self) -> np.ndarray:
        """Spark's ``cast(col as double)`` of a numeric or boolean column (nulls hold 0)."""
        if self.kind in ("double", "float", "decimal"):
            return self.values
        return self.values.astype(np.float64)

    def is_missing(self) -> np.ndarray:
        """Null, or NaN in a floating column (lakeprep's definition of missing)."""
        if self.kind in FLOATING:
            return ~self.valid | np.isnan(self.values)
        return ~self.valid


Batch = dict  # ordered mapping name -> Column, as Spark's columns


def batch_rows(batch: Batch) -> int:
    """The number of rows of a batch (0 for a batch without columns)."""
    return len(next(iter(batch.values()))) if batch else 0


def take_rows(batch: Batch, rows: np.ndarray) -> Batch:
    """Every column at the given positions (a stage that drops rows, as handleInvalid skip)."""
    return {name: col.take(rows) for name, col in batch.items()}


def assembled(values: np.ndarray, valid: np.ndarray) -> Column:
    """A vector column as MLlib's ``Vectors.sparse(...).compressed`` stores each row.

    Entries equal to 0.0 (-0.0 too) are not stored and read back as +0.0; a row is sparse
    when ``1.5 * (nnz + 1) < size``, else dense.
    """
    active = values != 0.0  # NaN counts as stored, as MLlib's `v != 0.0`
    values = np.where(active, values, 0.0)
    nnz = active.sum(axis=1)
    sparse = 1.5 * (nnz + 1.0) < values.shape[1]
    return Column("vector", values, valid, sparse, active)
