"""The per-batch encoders write exactly the bytes of the per-row encoders (formats.py)."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pytest
from pyspark.ml.linalg import DenseVector, SparseVector, Vectors
from sklearn.datasets import load_svmlight_file

from lakeprep.sagemaker.batches import (
    VectorBatch,
    csv_lines,
    libsvm_entries,
    libsvm_lines,
    parquet_batch,
    recordio_records,
)
from lakeprep.sagemaker.formats import csv_line, fmt_float, libsvm_line, recordio_record

WIDTH = 7


def _rows(kind: str, n: int = 300, seed: int = 3) -> list[tuple[float, object]]:
    rng = np.random.default_rng(seed)
    specials = np.array([0.0, -0.0, 1.0, 1e-7, 1e20, 1 / 3, -2.5e-300, 123456789.0, 10.0])
    out = []
    for i in range(n):
        dense = np.where(rng.random(WIDTH) < 0.4, 0.0, rng.choice(specials, WIDTH)
                         * rng.choice([1, rng.lognormal()], WIDTH))
        sparse = kind == "sparse" or (kind == "mixed" and i % 3 == 0)
        vector = (Vectors.sparse(WIDTH, {int(j): float(dense[j]) for j in np.flatnonzero(dense)})
                  if sparse else Vectors.dense(dense))
        out.append((float(rng.integers(0, 3)) if i % 5 else -0.0, vector))
    return out


def _arrow(rows: list[tuple[float, object]]) -> VectorBatch:
    def struct(v):
        if isinstance(v, SparseVector):
            return {"type": 0, "size": v.size, "indices": v.indices.tolist(),
                    "values": v.values.tolist()}
        assert isinstance(v, DenseVector)
        return {"type": 1, "size": None, "indices": None, "values": v.toArray().tolist()}

    vtype = pa.struct([("type", pa.int8()), ("size", pa.int32()),
                       ("indices", pa.list_(pa.int32())), ("values", pa.list_(pa.float64()))])
    return VectorBatch.from_arrow(pa.array([r[0] for r in rows], pa.float64()),
                                  pa.array([struct(r[1]) for r in rows], vtype))


@pytest.mark.parametrize("kind", ["dense", "sparse", "mixed"])
def test_text_formats_equal_the_row_encoders(kind):
    rows = _rows(kind)
    batch = _arrow(rows)
    matrix = batch.dense(WIDTH)
    assert np.array_equal(matrix, np.vstack([v.toArray() for _, v in rows]))
    assert csv_lines(batch.labels, matrix) == b"".join(csv_line(lab, v) for lab, v in rows)
    for base in (0, 1):
        want = [libsvm_line(lab, v, base, full_width=i == 0) for i, (lab, v) in enumerate(rows)]
        assert libsvm_lines(batch.labels, matrix, base, full_width_first=True) == b"".join(want)
        entries = batch.nonzero(WIDTH)  # sparse rows as stored, not densified
        assert libsvm_entries(batch.labels, *entries, WIDTH, base, True) == b"".join(want)


@pytest.mark.parametrize("kind", ["dense", "sparse", "mixed"])
@pytest.mark.parametrize("layout", ["auto", "dense", "sparse"])
def test_recordio_equals_the_row_encoder(kind, layout):
    rows = _rows(kind)
    got = recordio_records(_arrow(rows), WIDTH, layout)
    assert got == b"".join(recordio_record(lab, v, layout) for lab, v in rows)


def test_slices_and_parquet_keep_rows_in_order():
    rows = _rows("mixed", n=50)
    batch = _arrow(rows)
    part = batch.slice(10, 20)
    assert csv_lines(part.labels, part.dense(WIDTH)) == b"".join(
        csv_line(lab, v) for lab, v in rows[10:20])
    table = parquet_batch(part.labels, part.dense(WIDTH), ("label", *map(str, range(WIDTH))))
    assert table.num_rows == 10 and table.column(3).to_pylist() == [
        float(v.toArray()[2]) for _, v in rows[10:20]]


# Doubles whose shortest text is easy to get wrong: exponents either side of Arrow's switch to
# scientific notation, the smallest subnormal, the largest double, -0.0, a sum that is not 0.3,
# integers past 2**53 and a 17-digit value.
AWKWARD = np.array([1e-7, 5e-324, 1e22, -0.0, 0.1 + 0.2, 2.0**53, 2.0**53 + 2, 2.0**63,
                    123456789012345678.0, 1e-5, 1e21, 1e15, -1.7976931348623157e308, 1 / 3,
                    1.0, 100.0, -2.5e-300, 0.0])


def test_text_formats_of_awkward_values_parse_back_exactly():
    width = 6
    rng = np.random.default_rng(11)
    matrix = rng.choice(AWKWARD, (40, width))
    matrix[3] = 0.0  # a row without a non-zero entry
    matrix[0, -1] = 0.0  # the first line needs the full-width entry
    labels = rng.choice(AWKWARD, 40)
    vectors = [Vectors.dense(row) for row in matrix]

    csv = csv_lines(labels, matrix)
    assert csv == b"".join(csv_line(lab, v) for lab, v in zip(labels, vectors, strict=True))
    parsed = np.loadtxt(io.BytesIO(csv), delimiter=",", ndmin=2)
    # bit for bit, so -0.0 keeps its sign and no value moves by an ulp
    assert parsed.view(np.int64).tolist() == np.column_stack(
        [labels, matrix]).view(np.int64).tolist()

    for base in (0, 1):
        svm = libsvm_lines(labels, matrix, base, full_width_first=True)
        assert svm == b"".join(libsvm_line(lab, v, base, full_width=i == 0)
                               for i, (lab, v) in enumerate(zip(labels, vectors, strict=True)))
        x, y = load_svmlight_file(io.BytesIO(svm), zero_based=base == 0)
        assert x.shape == (40, width)
        assert np.array_equal(x.toarray(), matrix)
        assert y.view(np.int64).tolist() == labels.view(np.int64).tolist()
        lines = svm.decode().splitlines()
        assert lines[3] == fmt_float(labels[3])  # the label alone, no trailing space
        assert lines[0].endswith(f" {width - 1 + base}:0")


def test_float_text_is_arrows_shortest_form():
    assert [fmt_float(v) for v in (1.0, -0.0, 1e-7, 1e-5, 1e22, 0.1 + 0.2, 5e-324, 2.0**53)] == [
        "1", "-0", "1e-7", "0.00001", "1e+22", "0.30000000000000004", "5e-324",
        "9.007199254740992e+15"]
