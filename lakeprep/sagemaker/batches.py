"""Channel rows as Arrow batches, encoded per batch with numpy instead of row by row.

``mapInArrow`` hands an ML vector column to Python as Spark's vector struct
``(type: 0 sparse / 1 dense, size, indices, values)``; `VectorBatch` reads it without building a
Python object per row, and each format is encoded for a whole batch at once. The bytes are the
same as the per-row encoders in `lakeprep.sagemaker.formats` write (tests compare them).

>>> import pyarrow as pa
>>> vec = pa.array([{"type": 1, "size": None, "indices": None, "values": [1.0, 0.0]},
...                 {"type": 0, "size": 2, "indices": [1], "values": [2.5]}])
>>> b = VectorBatch.from_arrow(pa.array([1.0, 0.0]), vec)
>>> csv_lines(b.labels, b.dense(2))
b'1,1,0\\n0,0,2.5\\n'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from lakeprep.sagemaker.formats import TensorLayout
from lakeprep.sagemaker.recordio import (
    _HEADER,
    MAGIC,
    _field,
    _values_map_entry,
    encode_float32_tensor,
    encode_record,
    frame,
)

# "1.0" -> "1", "-0.0" -> "-0": what fmt_float does to each value, done once over a whole batch
_TRAILING_ZERO = re.compile(rb"\.0(?=[,\n ])")


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(start, start + length)`` for each pair, vectorised."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    within = np.arange(total) - np.repeat(ends - lengths, lengths)
    return np.repeat(starts, lengths) + within


@dataclass(frozen=True)
class VectorBatch:
    """Labels and vectors of one Arrow batch, as flat numpy arrays (no per-row objects)."""

    labels: np.ndarray  # float64; NaN where null (see ``null_labels``)
    null_labels: np.ndarray  # bool
    null_vectors: np.ndarray  # bool
    sparse: np.ndarray  # bool: the row is a SparseVector
    sizes: np.ndarray  # int64: each vector's size (0 for a null vector)
    value_offsets: np.ndarray  # int64, n + 1: row i's values are values[off[i]:off[i+1]]
    values: np.ndarray  # float64, every stored value
    index_offsets: np.ndarray  # int64, n + 1 (sparse rows only have indices)
    indices: np.ndarray  # int64

    @classmethod
    def from_arrow(cls, label: pa.Array, vector: pa.Array) -> VectorBatch:
        if isinstance(label, pa.ChunkedArray):
            label = label.combine_chunks()
        if isinstance(vector, pa.ChunkedArray):
            vector = vector.combine_chunks()
        null_vectors = vector.is_null().to_numpy(zero_copy_only=False)
        kind = vector.field("type").fill_null(1).to_numpy(zero_copy_only=False)
        vals = vector.field("values")
        idx = vector.field("indices")
        value_offsets = vals.offsets.to_numpy().astype(np.int64)
        index_offsets = idx.offsets.to_numpy().astype(np.int64)
        sparse = (kind == 0) & ~null_vectors
        sizes = np.where(sparse, vector.field("size").fill_null(0).to_numpy(zero_copy_only=False),
                         np.diff(value_offsets)).astype(np.int64)
        sizes[null_vectors] = 0
        return cls(
            labels=label.cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False),
            null_labels=label.is_null().to_numpy(zero_copy_only=False),
            null_vectors=null_vectors, sparse=sparse, sizes=sizes,
            value_offsets=value_offsets,
            values=vals.values.to_numpy(zero_copy_only=False).astype(np.float64, copy=False),
            index_offsets=index_offsets,
            indices=idx.values.to_numpy(zero_copy_only=False).astype(np.int64, copy=False))

    def __len__(self) -> int:
        return len(self.labels)

    def dense(self, width: int) -> np.ndarray:
        """The vectors as an ``n x width`` float64 matrix (sparse rows scattered)."""
        n = len(self)
        out = np.zeros((n, width), dtype=np.float64)
        rows = np.flatnonzero(~self.sparse & ~self.null_vectors)
        if rows.size:
            out[rows] = self.values[self.value_offsets[rows, None] + np.arange(width)[None, :]]
        rows = np.flatnonzero(self.sparse)
        if rows.size:
            lengths = self.value_offsets[rows + 1] - self.value_offsets[rows]
            at = _ranges(self.value_offsets[rows], lengths)
            cols = self.indices[_ranges(self.index_offsets[rows], lengths)]
            out[np.repeat(rows, lengths), cols] = self.values[at]
        return out

    def slice(self, start: int, stop: int) -> VectorBatch:
        """Rows ``start:stop`` (offsets re-based, flat arrays shared)."""
        return VectorBatch(self.labels[start:stop], self.null_labels[start:stop],
                           self.null_vectors[start:stop], self.sparse[start:stop],
                           self.sizes[start:stop], self.value_offsets[start:stop + 1],
                           self.values, self.index_offsets[start:stop + 1], self.indices)

    def stored(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """A sparse row's (indices, values) as stored."""
        v0, v1 = self.value_offsets[row], self.value_offsets[row + 1]
        i0 = self.index_offsets[row]
        return self.indices[i0:i0 + (v1 - v0)], self.values[v0:v1]


def _text(lines: list[str]) -> bytes:
    return _TRAILING_ZERO.sub(b"", ("\n".join(lines) + "\n").encode()) if lines else b""


def csv_lines(labels: np.ndarray, matrix: np.ndarray) -> bytes:
    """CSV text of a batch: label first, every feature, shortest round-trip floats."""
    rows = np.column_stack([labels, matrix]).tolist()
    return _text([",".join(map(repr, r)) for r in rows])


def libsvm_lines(labels: np.ndarray, matrix: np.ndarray, index_base: int = 0,
                 full_width_first: bool = False) -> bytes:
    """LibSVM text of a batch (non-zero entries); ``full_width_first`` makes the first line
    carry the last index (see `lakeprep.sagemaker.formats.libsvm_line`)."""
    r, c = np.nonzero(matrix)
    pairs = [f"{i}:{v!r}" for i, v in zip((c + index_base).tolist(), matrix[r, c].tolist(),
                                          strict=True)]
    bounds = np.searchsorted(r, np.arange(len(labels) + 1)).tolist()
    lines = [" ".join([repr(lab), *pairs[bounds[k]:bounds[k + 1]]])
             for k, lab in enumerate(labels.tolist())]
    width = matrix.shape[1]
    if full_width_first and lines and width and matrix[0, width - 1] == 0.0:
        lines[0] += f" {width - 1 + index_base}:0"
    return _text(lines)


def _dense_records(labels: np.ndarray, matrix: np.ndarray) -> bytes:
    """Framed dense Records for every row at once: with a fixed width every record has the
    same layout, so the constant protobuf bytes are laid around the float32 values."""
    n, width = matrix.shape
    features = _field(1, _values_map_entry(encode_float32_tensor(np.zeros(width))))
    label = _field(2, _values_map_entry(encode_float32_tensor([0.0])))
    head_f, head_l = features[:len(features) - 4 * width], label[:len(label) - 4]
    payload = len(features) + len(label)
    header = _HEADER.pack(MAGIC, payload)
    pad = (-payload) % 4
    parts = [
        np.broadcast_to(np.frombuffer(header + head_f, np.uint8), (n, len(header) + len(head_f))),
        matrix.astype("<f4").view(np.uint8).reshape(n, 4 * width),
        np.broadcast_to(np.frombuffer(head_l, np.uint8), (n, len(head_l))),
        labels.astype("<f4").view(np.uint8).reshape(n, 4),
        np.zeros((n, pad), np.uint8),
    ]
    return np.ascontiguousarray(np.hstack(parts)).tobytes()


def recordio_records(batch: VectorBatch, width: int, layout: TensorLayout = "auto") -> bytes:
    """Framed Amazon Records: dense tensors for dense rows, keys + shape for sparse rows (or
    one layout for all, as ``layout`` forces), byte for byte what `recordio_record` writes."""
    if len(batch) == 0:
        return b""
    if layout == "dense" or (layout == "auto" and not batch.sparse.any()):
        return _dense_records(batch.labels, batch.dense(width))
    out = []
    labels = batch.labels.tolist()
    matrix = batch.dense(width) if layout == "sparse" or not batch.sparse.all() else None
    for row, label in enumerate(labels):
        if batch.sparse[row] and layout != "dense":
            keys, values = batch.stored(row)
        elif layout == "sparse":
            assert matrix is not None
            keys = np.flatnonzero(matrix[row])
            values = matrix[row][keys]
        else:
            assert matrix is not None
            out.append(frame(encode_record(matrix[row], label)))
            continue
        out.append(frame(encode_record(values, label, keys=keys, size=int(batch.sizes[row]))))
    return b"".join(out)


def parquet_batch(labels: np.ndarray, matrix: np.ndarray, columns: tuple[str, ...]
                  ) -> pa.RecordBatch:
    """One Parquet record batch: the label, then one float64 column per feature."""
    arrays = [pa.array(labels)] + [pa.array(matrix[:, j]) for j in range(matrix.shape[1])]
    return pa.RecordBatch.from_arrays(arrays, names=list(columns))
