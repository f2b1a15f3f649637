"""A feature table into SageMaker channels: the features as an ML vector, every row checked
(one pass, before anything is written), split, and written in every format of the export; what
``lakeprep run export`` and ``lakeprep reproduce`` both do, so a rebuild is written exactly as the
original was."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from pyspark.ml.functions import array_to_vector
from pyspark.ml.linalg import VectorUDT
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakeprep.errors import InputError
from lakeprep.frames import cache
from lakeprep.pause import point
from lakeprep.sagemaker.checks import check_profile, profile_channel, require_channel_columns
from lakeprep.sagemaker.manifest import ChannelFiles
from lakeprep.sagemaker.splits import SplitSpec, split_dataset
from lakeprep.sagemaker.writers import WriteOptions, write_channel_formats
from lakeprep.uris import join_uri


def as_vector(df: DataFrame, col: str, where: str) -> DataFrame:
    """``col`` as a Spark ML vector: arrays of numbers are converted, vectors kept."""
    if col not in df.columns:
        raise InputError(f"{where}: features column '{col}' not found; available: "
                         f"{sorted(df.columns)} (export.features_col)")
    dtype = df.schema[col].dataType
    if isinstance(dtype, VectorUDT):
        return df
    if isinstance(dtype, T.ArrayType) and isinstance(dtype.elementType, T.NumericType):
        return df.withColumn(col, array_to_vector(F.col(col).cast("array<double>")))
    raise InputError(f"{where}: features column '{col}' must be array<double> or an ML vector, "
                     f"found {dtype.simpleString()}")


def _sized(options: WriteOptions, rows: int) -> WriteOptions:
    """Without ``num_files``, as many parts as ``rows_per_file`` needs (at least one), rather
    than one per Spark partition: a small channel is one file, not a folder of slivers."""
    if options.num_files is not None or not options.rows_per_file:
        return options
    return replace(options, num_files=max(1, -(-rows // options.rows_per_file)))


def write_splits(df: DataFrame, spec: SplitSpec, formats: Sequence[str], root: str,
                  options: WriteOptions, where: str) -> tuple[dict[str, int],
                                                           dict[str, dict[str, ChannelFiles]]]:
    """Check, split and write ``df``; nothing is written when any row is unusable."""
    try:
        require_channel_columns(df, options.features_col, options.label_col)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    keep = [c for c in (*(spec.entity_cols or []), spec.time_col) if c and c in df.columns]
    base = df.select(*dict.fromkeys([*keep, options.label_col, options.features_col]))
    base = cache(base)
    try:
        # One pass over the whole table, so a NaN in the test split stops the export before the
        # train split is written.
        check_profile(profile_channel(base, options.features_col, options.label_col),
                      options.features_col, options.label_col, options.feature_names,
                      where=where)
        try:
            splits = split_dataset(base, spec)
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
        channels = {}
        for name, frame in splits.frames.items():
            frame = cache(frame.select(options.label_col, options.features_col))
            try:
                uris = {fmt: join_uri(root, f"{name}/{fmt}") for fmt in formats}
                channels[name] = write_channel_formats(frame, uris,
                                                       _sized(options, splits.rows[name]))
                point("export.channel_written")
            finally:
                frame.unpersist()
        return splits.rows, channels
    finally:
        base.unpersist()


@dataclass
class ExportReport:
    """What one export wrote; ``lines()`` is what the CLI prints."""

    run_id: str
    source_table: str
    source_version: int
    output: str
    manifest_uri: str
    rows: dict[str, int]
    channels: dict[str, dict[str, ChannelFiles]]

    def lines(self) -> list[str]:
        total = sum(self.rows.values())
        out = [f"{self.source_table} version {self.source_version}: {total:,} rows -> "
               f"{', '.join(f'{k} {v:,}' for k, v in self.rows.items())}"]
        for channel, formats in self.channels.items():
            for fmt, files in formats.items():
                out.append(f"  {channel}/{fmt}: {files.rows:,} rows in {len(files.files)} "
                           f"file(s) -> {files.uri}")
        out.append(f"manifest: {self.manifest_uri}")
        return out
