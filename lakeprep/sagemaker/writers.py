"""Write a features-vector + label DataFrame as SageMaker channel files, from the executors.

Each Spark partition writes its own part files straight to the target (local or ``s3://``)
through `pyarrow.fs`; the driver only receives ``(file, rows, bytes)`` per part. A channel is
profiled and checked first (`lakeprep.sagemaker.checks`), so bad rows stop the write before any
file exists. File names are deterministic (``part-<partition>-<seq><ext>``), so a retried task
overwrites its own parts instead of adding duplicates.

>>> out = write_channel(train_df, "s3://bucket/run-1/train/csv", "csv",
...                     WriteOptions(shuffle=True, rows_per_file=100_000))  # doctest: +SKIP
>>> out.content_type, out.rows  # doctest: +SKIP
('text/csv', 80000)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs as pafs
from pyspark.ml.linalg import Vector
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakeprep.errors import UsageError
from lakeprep.sagemaker.checks import (
    ChannelProfile,
    Task,
    check_profile,
    profile_channel,
    require_channel_columns,
)
from lakeprep.sagemaker.formats import (
    FORMATS,
    TensorLayout,
    csv_line,
    libsvm_line,
    recordio_record,
)
from lakeprep.sagemaker.manifest import ChannelFiles
from lakeprep.storage import Mode, prepare_prefix, resolve

log = logging.getLogger(__name__)
_FLUSH_BYTES = 4 << 20  # write to the stream in ~4 MiB pieces, not per row
_PARQUET_BATCH = 8192


@dataclass(frozen=True)
class WriteOptions:
    """How a channel is written; the defaults suit SageMaker's built-in algorithms.

    >>> WriteOptions(shuffle=True, num_files=8).seed
    42
    """

    features_col: str = "features"
    label_col: str = "label"
    feature_names: tuple[str, ...] | None = None  # vector order; Parquet column names, errors
    shuffle: bool = False  # random row order across and within files (seeded)
    seed: int = 42
    num_files: int | None = None  # repartition to this many parts (before rows_per_file)
    rows_per_file: int | None = None  # roll to a new part after this many rows
    mode: Mode = "error"  # "overwrite" empties the channel folder first
    task: Task = "auto"  # class balance for "classification" (or integral labels on "auto")
    libsvm_index_base: int = 0  # SageMaker XGBoost reads zero-based indices
    tensor_layout: TensorLayout = "auto"  # RecordIO: dense/sparse per vector type, or forced

    def __post_init__(self) -> None:
        for name in ("num_files", "rows_per_file"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise UsageError(f"WriteOptions.{name} must be >= 1, found {value}")
        if self.libsvm_index_base not in (0, 1):
            raise UsageError(f"WriteOptions.libsvm_index_base must be 0 or 1, "
                             f"found {self.libsvm_index_base}")
        if self.tensor_layout not in ("auto", "dense", "sparse"):
            raise UsageError(f"WriteOptions.tensor_layout must be auto, dense or sparse, "
                             f"found {self.tensor_layout!r}")


@dataclass(frozen=True)
class _PartSpec:
    """What an executor needs to write its parts; small and picklable."""

    fs: pafs.FileSystem
    root: str
    fmt: str
    extension: str
    rows_per_file: int | None
    index_base: int
    layout: TensorLayout
    columns: tuple[str, ...]  # Parquet: label name, then one name per feature


def _encoder(spec: _PartSpec) -> Callable[[float, Vector], bytes]:
    if spec.fmt == "csv":
        return csv_line
    if spec.fmt == "libsvm":
        return lambda label, vector: libsvm_line(label, vector, spec.index_base)
    return lambda label, vector: recordio_record(label, vector, spec.layout)


def _chunks(rows: Iterable, size: int | None) -> Iterator[Iterator]:
    """Split a row iterator into consecutive runs of at most ``size`` rows, lazily."""
    it = iter(rows)
    for first in it:
        yield _run(first, it, size)


def _run(first, it: Iterator, size: int | None) -> Iterator:
    yield first
    taken = 1
    while size is None or taken < size:
        try:
            yield next(it)
        except StopIteration:
            return
        taken += 1


def _write_bytes(spec: _PartSpec, path: str, rows: Iterator) -> tuple[int, int]:
    encode = _encoder(spec)
    count = written = 0
    with spec.fs.open_output_stream(path) as out:
        buf: list[bytes] = []
        size = 0
        for label, vector in rows:
            if count == 0 and spec.fmt == "libsvm":  # the file's first line spans its width
                data = libsvm_line(label, vector, spec.index_base, full_width=True)
            else:
                data = encode(label, vector)
            buf.append(data)
            size += len(data)
            count += 1
            if size >= _FLUSH_BYTES:
                out.write(b"".join(buf))
                written += size
                buf, size = [], 0
        out.write(b"".join(buf))
        written += size
    return count, written


def _parquet_batch(rows: list, columns: tuple[str, ...]) -> pa.RecordBatch:
    labels = np.fromiter((r[0] for r in rows), dtype=np.float64, count=len(rows))
    matrix = np.vstack([r[1].toArray() for r in rows])
    arrays = [pa.array(labels)] + [pa.array(matrix[:, j]) for j in range(matrix.shape[1])]
    return pa.RecordBatch.from_arrays(arrays, names=list(columns))


def _write_parquet(spec: _PartSpec, path: str, rows: Iterator) -> tuple[int, int]:
    schema = pa.schema([(name, pa.float64()) for name in spec.columns])
    count = 0
    with spec.fs.open_output_stream(path) as out:
        with pq.ParquetWriter(out, schema) as writer:
            batch: list = []
            for row in rows:
                batch.append(row)
                if len(batch) == _PARQUET_BATCH:
                    writer.write_batch(_parquet_batch(batch, spec.columns))
                    count, batch = count + len(batch), []
            if batch:
                writer.write_batch(_parquet_batch(batch, spec.columns))
                count += len(batch)
        written = out.tell()
    return count, written


def _write_partition(spec: _PartSpec, index: int,
                     rows: Iterable) -> Iterator[tuple[str, int, int]]:
    """Write one partition as one or more parts; yield ``(name, rows, bytes)`` for each."""
    write = _write_parquet if spec.fmt == "parquet" else _write_bytes
    for seq, chunk in enumerate(_chunks(rows, spec.rows_per_file)):
        name = f"part-{index:05d}-{seq:04d}{spec.extension}"
        count, size = write(spec, f"{spec.root}/{name}", chunk)
        yield name, count, size


def arrange_rows(df: DataFrame, options: WriteOptions) -> DataFrame:
    """Select ``(label double, features)`` and apply the shuffle and file-count options.

    >>> arrange_rows(df, WriteOptions(num_files=4)).rdd.getNumPartitions()  # doctest: +SKIP
    4
    """
    rows = df.select(F.col(options.label_col).cast("double").alias("label"),
                     F.col(options.features_col).alias("features"))
    parts = options.num_files or rows.rdd.getNumPartitions()
    if options.shuffle:
        # A random key spreads rows over the parts and orders them inside each part, so every
        # file is a random sample (what ShardedByS3Key and pipe-mode readers assume).
        key = F.rand(options.seed)
        return (rows.withColumn("_shuffle", key).repartition(parts, "_shuffle")
                .sortWithinPartitions("_shuffle").drop("_shuffle"))
    if options.num_files is None:
        return rows
    if options.num_files < rows.rdd.getNumPartitions():
        return rows.coalesce(options.num_files)  # keeps the input order
    return rows.repartition(options.num_files)


def _columns(options: WriteOptions, width: int | None) -> tuple[str, ...]:
    names = options.feature_names or tuple(f"f{i}" for i in range(width or 0))
    columns = (options.label_col, *names)
    if len(set(columns)) != len(columns):
        raise UsageError(f"Parquet columns must be unique; label '{options.label_col}' or a "
                         f"feature name repeats in {list(columns)[:20]}")
    return columns


def write_channel(df: DataFrame, uri: str, fmt: str, options: WriteOptions | None = None, *,
                  filesystem: pafs.FileSystem | None = None,
                  profile: ChannelProfile | None = None) -> ChannelFiles:
    """Write one channel in one format under ``uri``; return what the manifest records.

    ``fmt`` is ``csv``, ``libsvm``, ``recordio-protobuf`` or ``parquet``. ``profile`` (from
    `profile_channel`) skips the checking pass when several formats share one DataFrame.
    """
    options = options or WriteOptions()
    if fmt not in FORMATS:
        raise UsageError(f"unknown channel format {fmt!r}; expected one of {sorted(FORMATS)}")
    require_channel_columns(df, options.features_col, options.label_col)
    if profile is None:
        profile = profile_channel(df, options.features_col, options.label_col)
    check_profile(profile, options.features_col, options.label_col, options.feature_names,
                  where=f"channel {uri}")
    class_balance = profile.class_balance(options.task)
    fs, root = resolve(uri, filesystem)
    prepare_prefix(fs, root, options.mode, uri)
    info = FORMATS[fmt]
    spec = _PartSpec(fs, root, fmt, info.extension, options.rows_per_file,
                     options.libsvm_index_base, options.tensor_layout,
                     _columns(options, profile.width) if fmt == "parquet" else ())
    parts = (arrange_rows(df, options).rdd
             .mapPartitionsWithIndex(lambda i, rows: _write_partition(spec, i, rows))
             .collect())
    parts.sort()
    rows = sum(p[1] for p in parts)
    if rows != profile.rows:
        raise UsageError(f"channel {uri}: wrote {rows} rows but the input had {profile.rows}; "
                         f"the DataFrame is not deterministic (cache it before writing)")
    log.info("wrote %s channel %s: %d rows in %d file(s)", fmt, uri, rows, len(parts))
    return ChannelFiles(uri=uri, content_type=info.content_type, rows=rows,
                        files=[p[0] for p in parts], bytes=sum(p[2] for p in parts),
                        class_balance=class_balance)


def write_channel_formats(df: DataFrame, uris: Mapping[str, str],
                          options: WriteOptions | None = None, *,
                          filesystem: pafs.FileSystem | None = None) -> dict[str, ChannelFiles]:
    """Write one channel in several formats (``{"csv": uri, ...}``), checking the rows once.

    Cache ``df`` first when it is expensive: each format reads it once more.

    >>> write_channel_formats(df, {"csv": "s3://b/r/train/csv",
    ...                            "recordio-protobuf": "s3://b/r/train/pbr"})  # doctest: +SKIP
    """
    options = options or WriteOptions()
    unknown = sorted(set(uris) - set(FORMATS))
    if unknown:
        raise UsageError(f"unknown channel format(s) {unknown}; expected some of {sorted(FORMATS)}")
    require_channel_columns(df, options.features_col, options.label_col)
    profile = profile_channel(df, options.features_col, options.label_col)
    return {fmt: write_channel(df, uri, fmt, options, filesystem=filesystem,
                               profile=profile)
            for fmt, uri in uris.items()}
