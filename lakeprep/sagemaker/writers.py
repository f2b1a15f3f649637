"""Write a features-vector + label DataFrame as SageMaker channel files, from the executors.

Each Spark partition writes its own part files straight to the target (local or ``s3://``)
through `pyarrow.fs`; the driver only receives ``(file, rows, bytes)`` per part. A channel is
profiled and checked first (`lakeprep.sagemaker.checks`), so bad rows stop the write before any
file exists. File names are deterministic (``part-<partition>-<seq><ext>``), so a retried task
overwrites its own parts instead of adding duplicates.

Example::

    out = write_channel(train_df, "s3://bucket/run-1/train/csv", "csv",
                        WriteOptions(shuffle=True, rows_per_file=100_000))
    out.content_type, out.rows
    # -> ('text/csv', 80000)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs as pafs
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakeprep.config.sections import ExportSettings
from lakeprep.errors import UsageError
from lakeprep.sagemaker.batches import (
    VectorBatch,
    csv_lines,
    dictionary_columns,
    libsvm_entries,
    libsvm_lines,
    parquet_batch,
    recordio_records,
)
from lakeprep.sagemaker.checks import (
    ChannelProfile,
    Task,
    check_profile,
    profile_channel,
    require_channel_columns,
)
from lakeprep.sagemaker.formats import FORMATS, TensorLayout
from lakeprep.sagemaker.manifest import ChannelFiles
from lakeprep.storage import Mode, prepare_prefix, resolve

log = logging.getLogger(__name__)


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

    @classmethod
    def for_export(cls, cfg: ExportSettings, label: str, names: Sequence[str],
                   seed: int) -> WriteOptions:
        """The options of an export (``export:`` in conf) of a table with ``label`` and the
        feature ``names`` in vector order."""
        return cls(features_col=cfg.features_col, label_col=label, feature_names=tuple(names),
                   shuffle=cfg.shuffle, seed=seed, num_files=cfg.num_files,
                   rows_per_file=cfg.rows_per_file,
                   mode="overwrite" if cfg.overwrite else "error")

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
    width: int  # every vector's size (check_profile refuses mixed widths)


class _PartWriter:
    """Writes one partition's rows as parts of at most ``rows_per_file`` rows; encodes whole
    Arrow batches (`lakeprep.sagemaker.batches`), never row by row."""

    def __init__(self, spec: _PartSpec, index: int):
        self.spec, self.index = spec, index
        self.done: list[tuple[str, int, int]] = []
        self._stream: Any = None
        self._parquet: pq.ParquetWriter | None = None
        self._name, self._rows, self._bytes = "", 0, 0

    def write(self, batch: VectorBatch) -> None:
        start, size = 0, self.spec.rows_per_file
        while start < len(batch):
            if self._stream is None:
                self._open()
            room = len(batch) - start if size is None else min(size - self._rows,
                                                                len(batch) - start)
            self._encode(batch.slice(start, start + room), first=self._rows == 0)
            self._rows += room
            start += room
            if size is not None and self._rows >= size:
                self._close()

    def finish(self) -> list[tuple[str, int, int]]:
        if self._stream is not None:
            self._close()
        return self.done

    def _open(self) -> None:
        spec = self.spec
        self._name = f"part-{self.index:05d}-{len(self.done):04d}{spec.extension}"
        self._stream = spec.fs.open_output_stream(f"{spec.root}/{self._name}")
        self._rows = self._bytes = 0

    def _encode(self, rows: VectorBatch, first: bool) -> None:
        spec, width = self.spec, self.spec.width
        if spec.fmt == "recordio-protobuf":
            data = recordio_records(rows, width, spec.layout)
        elif spec.fmt == "parquet":
            matrix = rows.dense(width)
            if self._parquet is None:
                schema = pa.schema([(name, pa.float64()) for name in spec.columns])
                self._parquet = pq.ParquetWriter(
                    self._stream, schema, compression="snappy",
                    use_dictionary=dictionary_columns(rows.labels, matrix, spec.columns))
            self._parquet.write_batch(parquet_batch(rows.labels, matrix, spec.columns))
            return
        elif spec.fmt == "libsvm" and rows.sparse.any():
            data = libsvm_entries(rows.labels, *rows.nonzero(width), width, spec.index_base,
                                  full_width_first=first)
        elif spec.fmt == "libsvm":  # dense rows: column by column, no entry list
            data = libsvm_lines(rows.labels, rows.dense(width), spec.index_base,
                                full_width_first=first)
        else:
            data = csv_lines(rows.labels, rows.dense(width))
        self._stream.write(data)
        self._bytes += len(data)

    def _close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        size = self._stream.tell() if self.spec.fmt == "parquet" else self._bytes
        self._stream.close()
        self._stream = None
        self.done.append((self._name, self._rows, size))


_PARTS_SCHEMA = "name string, rows long, bytes long"


def _write_batches(spec: _PartSpec, batches: Iterable[pa.RecordBatch]
                   ) -> Iterator[pa.RecordBatch]:
    """mapInArrow body: one partition's ``(_part, label, features)`` batches -> its parts."""
    writer: _PartWriter | None = None
    for batch in batches:
        if batch.num_rows == 0:
            continue
        if writer is None:
            writer = _PartWriter(spec, int(batch.column(0)[0].as_py()))
        writer.write(VectorBatch.from_arrow(batch.column(1), batch.column(2)))
    done = writer.finish() if writer is not None else []
    if done:
        names, rows, sizes = zip(*done, strict=True)
        yield pa.RecordBatch.from_pydict({"name": list(names), "rows": list(rows),
                                          "bytes": list(sizes)})


def arrange_rows(df: DataFrame, options: WriteOptions) -> DataFrame:
    """Select ``(label double, features)`` and apply the shuffle and file-count options.

    Example::

        arrange_rows(df, WriteOptions(num_files=4)).rdd.getNumPartitions()
        # -> 4
    """
    rows = df.select(F.col(options.label_col).cast("double").alias("label"),
                     F.col(options.features_col).alias("features"))
    parts = options.num_files or rows.rdd.getNumPartitions()
    if options.shuffle:
        # A seeded hash of the row spreads rows over the parts and orders them inside each
        # part, so every file is a random sample (what ShardedByS3Key and pipe-mode readers
        # assume), and the same rows give the same files whatever the input's partitioning
        # (``rand`` draws by partition and position: a rebuild on another cluster layout put
        # other rows first, and LibSVM's first line of a file carries the feature width).
        key = F.xxhash64(F.lit(options.seed), F.col("label"), vector_to_array(F.col("features")))
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
                     _columns(options, profile.width) if fmt == "parquet" else (),
                     profile.width or 0)
    rows_df = arrange_rows(df, options)
    parts = sorted(tuple(r) for r in rows_df.select(
        F.spark_partition_id().alias("_part"), "label", "features")
        .mapInArrow(lambda batches: _write_batches(spec, batches), _PARTS_SCHEMA).collect())
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

    Example::

        write_channel_formats(df, {"csv": "s3://b/r/train/csv",
                                   "recordio-protobuf": "s3://b/r/train/pbr"})
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
