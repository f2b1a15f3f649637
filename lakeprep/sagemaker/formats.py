"""The channel formats SageMaker's built-in algorithms read, and one row encoder for each.

Rows arrive as ``(label, vector)`` with a float label and a Spark ML ``DenseVector`` or
``SparseVector``. Text encoders write every float through `float_texts` (Arrow's float64 -> string
cast): the shortest text that parses back to the same double, ``1`` for 1.0, ``-0`` for -0.0 and
Arrow's exponent style (``1e-7``, ``0.00001``, ``1e+22``). The per-batch encoders in
`lakeprep.sagemaker.batches` use the same function, so the two cannot format a value differently.

>>> from pyspark.ml.linalg import Vectors
>>> csv_line(1.0, Vectors.dense([0.5, 0.0, 2.0]))
b'1,0.5,0,2\\n'
>>> libsvm_line(0.0, Vectors.sparse(4, [1, 3], [1.5, 2.0]), index_base=0)
b'0 1:1.5 3:2\\n'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import ArrayLike
from pyspark.ml.linalg import SparseVector, Vector

from lakeprep.sagemaker.recordio import encode_record, frame

TensorLayout = Literal["auto", "dense", "sparse"]


@dataclass(frozen=True)
class FormatInfo:
    """What SageMaker needs to know about a format: its content type and the files' suffix."""

    name: str
    content_type: str
    extension: str


FORMATS: dict[str, FormatInfo] = {
    "csv": FormatInfo("csv", "text/csv", ".csv"),
    "libsvm": FormatInfo("libsvm", "text/libsvm", ".libsvm"),
    # sagemaker-spark names its RecordIO-protobuf parts *.pbr; the algorithms ignore the suffix.
    "recordio-protobuf": FormatInfo("recordio-protobuf", "application/x-recordio-protobuf",
                                    ".pbr"),
    "parquet": FormatInfo("parquet", "application/x-parquet", ".parquet"),
}


def float_texts(values: ArrayLike) -> pa.StringArray:
    """The text of each value as a float64: shortest round trip, in C++ for a whole array.

    The one float formatter of the text channels (CSV, LibSVM, class-balance keys).

    >>> float_texts([1.0, -0.0, 1e-7, 0.00001, 1e22, 0.1 + 0.2]).to_pylist()
    ['1', '-0', '1e-7', '0.00001', '1e+22', '0.30000000000000004']
    """
    return pc.cast(pa.array(np.asarray(values, dtype=np.float64)), pa.string())


def fmt_float(x: float) -> str:
    """One value's text, as `float_texts` writes it.

    >>> fmt_float(2.0), fmt_float(1e-05)
    ('2', '0.00001')
    """
    return str(float_texts([x])[0].as_py())


def csv_line(label: float, vector: Vector) -> bytes:
    """One CSV line: label first, then every feature (sparse vectors are densified), no quoting."""
    texts = float_texts(np.concatenate([[label], vector.toArray()])).to_pylist()
    return (",".join(texts) + "\n").encode()


def libsvm_line(label: float, vector: Vector, index_base: int = 0,
                full_width: bool = False) -> bytes:
    """One LibSVM line: ``label i:v ...`` over the non-zero entries, indices from ``index_base``.

    SageMaker's XGBoost reads zero-based indices (its docs: "zero-based index value pairs");
    Spark's ``libsvm`` data source and sagemaker-spark write one-based ones. A LibSVM reader
    takes a file's width from the largest index it sees, so ``full_width`` writes the last
    feature even when it is zero (``n-1:0``): the writers do it on each file's first line, so
    every file parses to the full feature width (otherwise a train file whose rows never use the
    last features is narrower than validation, and XGBoost refuses the model).

    >>> from pyspark.ml.linalg import Vectors
    >>> libsvm_line(1.0, Vectors.dense([0.5, 0.0, 0.0]), full_width=True)
    b'1 0:0.5 2:0\\n'
    """
    if isinstance(vector, SparseVector):
        indices, values = vector.indices, vector.values
    else:
        values = vector.toArray()
        indices = np.flatnonzero(values)
        values = values[indices]
    keep = values != 0.0
    pairs = [f"{i + index_base}:{text}" for i, text in zip(
        indices[keep].tolist(), float_texts(values[keep]).to_pylist(), strict=True)]
    last = len(vector) - 1
    if full_width and last >= 0 and not (keep.any() and int(indices[keep][-1]) == last):
        pairs.append(f"{last + index_base}:0")
    return (" ".join([fmt_float(label), *pairs]) + "\n").encode()


def recordio_record(label: float, vector: Vector, layout: TensorLayout = "auto") -> bytes:
    """One framed Amazon Record: dense tensor for a DenseVector, keys + shape for a SparseVector.

    ``layout`` forces one tensor layout for every row (``"sparse"`` keeps the stored entries of a
    SparseVector, or the non-zero ones of a DenseVector), as sagemaker-spark does per row type.
    """
    sparse = isinstance(vector, SparseVector) if layout == "auto" else layout == "sparse"
    if not sparse:
        return frame(encode_record(vector.toArray(), label))
    if isinstance(vector, SparseVector):
        keys, values = vector.indices, vector.values
    else:
        dense = vector.toArray()
        keys = np.flatnonzero(dense)
        values = dense[keys]
    return frame(encode_record(values, label, keys=keys, size=len(vector)))
