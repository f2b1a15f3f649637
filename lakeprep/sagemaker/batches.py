"""Channel rows as Arrow batches, encoded per batch with numpy and Arrow instead of row by row.

``mapInArrow`` hands an ML vector column to Python as Spark's vector struct
``(type: 0 sparse / 1 dense, size, indices, values)``; `VectorBatch` reads it without building a
Python object per row, and each format is encoded for a whole batch at once: RecordIO with numpy,
the text formats with Arrow's C++ kernels (float -> string casts, element-wise and list joins),
Parquet through pyarrow. The bytes are the same as the per-row encoders in
`lakeprep.sagemaker.formats` write (tests compare them).

>>> import pyarrow as pa
>>> vec = pa.array([{"type": 1, "size": None, "indices": None, "values": [1.0, 0.0]},
...                 {"type": 0, "size": 2, "indices": [1], "values": [2.5]}])
>>> b = VectorBatch.from_arrow(pa.array([1.0, 0.0]), vec)
>>> csv_lines(b.labels, b.dense(2))
b'1,1,0\\n0,0,2.5\\n'
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from lakeprep.sagemaker.formats import TensorLayout, float_texts
from lakeprep.sagemaker.recordio import (
    _HEADER,
    MAGIC,
    _field,
    _values_map_entry,
    encode_float32_tensor,
    encode_record,
    frame,
)


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
        """The vectors as an ``n x width`` float64 matrix (sparse rows scattered); read-only."""
        n = len(self)
        if (not self.sparse.any() and not self.null_vectors.any()
                and (np.diff(self.value_offsets) == width).all()):
            # all dense: the stored values already are the matrix, row after row
            start = int(self.value_offsets[0])
            view = self.values[start:start + n * width].reshape(n, width)
            view.flags.writeable = False
            return view
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
        out.flags.writeable = False  # the same contract as the view above
        return out

    def nonzero(self, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(rows, cols, values)`` of the non-zero entries in row-major order; sparse rows are
        read as stored, never densified (a wide one-hot batch stays small)."""
        if not self.sparse.any():
            matrix = self.dense(width)
            rows, cols = np.nonzero(matrix)
            return rows, cols, matrix[rows, cols]
        starts = self.value_offsets[:-1]
        lengths = np.where(self.null_vectors, 0, np.diff(self.value_offsets))
        at = _ranges(starts, lengths)
        rows = np.repeat(np.arange(len(self)), lengths)
        cols = at - np.repeat(starts, lengths)  # a dense row's entries sit at their column
        in_sparse = np.repeat(self.sparse, lengths)
        cols[in_sparse] = self.indices[_ranges(self.index_offsets[:-1][self.sparse],
                                               lengths[self.sparse])]
        values = self.values[at]
        keep = values != 0.0
        return rows[keep], cols[keep], values[keep]

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


# Tokens formatted per Arrow call: bounds the text built at once (and keeps Arrow's 32-bit
# string offsets far from overflowing) whatever batch size Spark hands over.
_CHUNK_TOKENS = 1 << 22


def _row_chunks(tokens: np.ndarray) -> list[tuple[int, int]]:
    """``(start, stop)`` row ranges of at most ``_CHUNK_TOKENS`` tokens (or one row) each."""
    ends = np.cumsum(tokens)
    chunks, start, done = [], 0, 0
    while start < len(tokens):
        stop = max(start + 1, int(np.searchsorted(ends, done + _CHUNK_TOKENS, "right")))
        chunks.append((start, stop))
        start, done = stop, int(ends[stop - 1])
    return chunks


def _join_rows(tokens: pa.Array, offsets: np.ndarray, sep: str,
               empty: np.ndarray | None = None) -> pa.Array:
    """Row ``i`` = ``tokens[offsets[i]:offsets[i+1]]`` joined by ``sep`` (null where ``empty``)."""
    rows = pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), tokens,
                                    mask=None if empty is None else pa.array(empty))
    return pc.binary_join(rows, sep)


def _text(lines: pa.Array) -> bytes:
    """Every line followed by a newline, as one bytes object."""
    ended = pc.binary_join_element_wise(lines, "", "\n")
    _, offsets, data = ended.buffers()
    end = np.frombuffer(offsets, np.int32, len(ended) + 1, ended.offset * 4)[-1]
    return data[:int(end)].to_pybytes()


# Arrow's CSV writer: every value as its float64 -> string cast (`float_texts`), no quotes
_CSV = pacsv.WriteOptions(include_header=False, quoting_style="none")


def csv_lines(labels: np.ndarray, matrix: np.ndarray) -> bytes:
    """CSV text of a batch: label first, then every feature (`float_texts` for each value).

    Arrow's CSV writer casts each column with the same kernel as `float_texts` and lays the
    texts, commas and newlines out in one pass in C++: about half the time of joining the
    texts with list and element-wise joins.
    """
    if not len(labels):
        return b""
    sink = pa.BufferOutputStream()
    pacsv.write_csv(_columns(labels, matrix), sink, _CSV)
    return sink.getvalue().to_pybytes()


def _columns(labels: np.ndarray, matrix: np.ndarray) -> pa.Table:
    """The label and one float64 column per feature, each contiguous (zero-copy arrays)."""
    by_feature = np.ascontiguousarray(matrix.T)
    return pa.Table.from_arrays([pa.array(labels), *map(pa.array, by_feature)],
                                names=[f"c{i}" for i in range(len(by_feature) + 1)])


def libsvm_lines(labels: np.ndarray, matrix: np.ndarray, index_base: int = 0,
                 full_width_first: bool = False) -> bytes:
    """LibSVM text of a batch given as a dense matrix (see `libsvm_entries`), column by column:
    each feature's ``i:v`` texts (null where the value is zero), then one element-wise join
    of the label and every feature per row that skips the nulls with their separators."""
    n, width = matrix.shape
    if not n:
        return b""
    parts = [float_texts(labels)]
    for j, values in enumerate(np.ascontiguousarray(matrix.T)):
        zero = values == 0.0
        if full_width_first and j == width - 1:
            zero[0] = False  # the first line carries the last index: every file is full width
        if zero.all():
            continue
        pairs = pc.binary_join_element_wise(str(j + index_base), float_texts(values), ":")
        parts.append(pc.if_else(pa.array(zero), pa.nulls(n, pa.string()), pairs)
                     if zero.any() else pairs)
    return _text(pc.binary_join_element_wise(*parts, " ", null_handling="skip"))


def libsvm_entries(labels: np.ndarray, rows: np.ndarray, cols: np.ndarray, values: np.ndarray,
                   width: int, index_base: int = 0, full_width_first: bool = False) -> bytes:
    """LibSVM text of a batch from its non-zero entries in row-major order (`VectorBatch.nonzero`);
    ``full_width_first`` makes the first line carry the last index (see
    `lakeprep.sagemaker.formats.libsvm_line`). A row without entries is its label alone.

    >>> libsvm_entries(np.array([1.0, 0.0]), np.array([0]), np.array([0]), np.array([0.5]), 3,
    ...                full_width_first=True)
    b'1 0:0.5 2:0\\n0\\n'
    """
    n = len(labels)
    counts = np.bincount(rows, minlength=n)
    if full_width_first and n and width and not (counts[0] and cols[counts[0] - 1] == width - 1):
        at = int(counts[0])
        rows, cols = np.insert(rows, at, 0), np.insert(cols, at, width - 1)
        values = np.insert(values, at, 0.0)
        counts[0] += 1
    ends = np.cumsum(counts)
    out = []
    for start, stop in _row_chunks(counts + 1):
        lo, hi = int(ends[start] - counts[start]), int(ends[stop - 1])
        pairs = pc.binary_join_element_wise(
            pc.cast(pa.array(cols[lo:hi].astype(np.int64) + index_base), pa.string()),
            float_texts(values[lo:hi]), ":")
        part = counts[start:stop]
        entries = _join_rows(pairs, np.concatenate([[0], np.cumsum(part)]), " ",
                             empty=part == 0)
        # null entries are skipped with their separator: a row without any is its label alone
        lines = pc.binary_join_element_wise(float_texts(labels[start:stop]), entries, " ",
                                            null_handling="skip")
        out.append(_text(lines))
    return b"".join(out)


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
    # One transposed copy makes every feature column contiguous, so each pa.array is zero-copy
    # (a strided matrix[:, j] is copied value by value, ~10x slower over a whole batch).
    by_feature = np.ascontiguousarray(matrix.T)
    arrays = [pa.array(labels), *map(pa.array, by_feature)]
    return pa.RecordBatch.from_arrays(arrays, names=list(columns))


def dictionary_columns(labels: np.ndarray, matrix: np.ndarray, columns: tuple[str, ...]
                       ) -> list[str]:
    """The Parquet columns worth a dictionary, judged on a file's first batch: those with at
    most a quarter as many distinct values as rows (labels, one-hot or binned features).

    Arrow keeps a dictionary until it outgrows its page limit, which a batch-sized row group
    never does, so a continuous feature would be dictionary-encoded with one entry per row:
    twice the encoding time and a larger file. Spark's writer drops such a dictionary after the
    first page; this makes the same call up front.

    >>> labels, features = np.arange(8) % 2.0, np.column_stack([np.arange(8) / 10, np.ones(8)])
    >>> dictionary_columns(labels, features, ("y", "a", "b"))
    ['y', 'b']
    """
    values = np.sort(np.column_stack([labels, matrix]), axis=0)
    distinct = 1 + (np.diff(values, axis=0) != 0).sum(axis=0)
    return [name for name, count in zip(columns, distinct.tolist(), strict=True)
            if 4 * count <= len(values)]
