"""Export training data: the feature table -> SageMaker channels + manifest.json; rebuild them.

``run`` reads the feature table (latest or a given Delta version), splits it by entity (no
customer in two splits), writes every split in every configured format with the executors, and
writes ``manifest.json`` beside the channels: files, content types, rows and class balance,
feature names in vector order, label, the table version read, the pipeline model, config hash,
run id and split spec. ``reproduce`` reads the table *as of* the recorded version, splits and
writes again with the manifest's spec, and compares the files record for record (independent of
file order and names), so an audit can show that a model's training data is what the lake says.

>>> report = run(ctx)  # doctest: +SKIP
>>> report.manifest_uri  # doctest: +SKIP
'/lake/exports/customer_features/20260501T...-export_training-1a2b3c4d/manifest.json'
>>> reproduce(ctx, report.manifest_uri).identical  # doctest: +SKIP
True

Run it: ``lakeprep run export_training --env local`` (once wired into the CLI).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs as pafs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pyspark import StorageLevel
from pyspark.ml.functions import array_to_vector
from pyspark.ml.linalg import VectorUDT
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs import gates
from jobs.config import Settings
from jobs.lake import LakeTable
from jobs.runtime import JobContext
from jobs.sagemaker import (
    ChannelFiles,
    Manifest,
    SourceTable,
    SplitSpec,
    WriteOptions,
    check_profile,
    profile_channel,
    read_manifest,
    split_dataset,
    write_channel_formats,
    write_manifest,
)
from jobs.sagemaker.checks import require_channel_columns
from jobs.sagemaker.manifest import manifest_uri as manifest_location
from jobs.sagemaker.recordio import decode_record, iter_frames
from jobs.sagemaker.storage import join_uri, list_files, resolve
from lakeprep.errors import ConfigError, InputError, LakeprepError, UsageError

log = logging.getLogger(__name__)

JOB = "export_training"
SECTION = "export"
Format = Literal["csv", "libsvm", "recordio-protobuf", "parquet"]


# configuration ---------------------------------------------------------------------------------
class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SplitSettings(_Model):
    """``export.split``: how rows are split; label and entity come from the export section."""

    method: Literal["random", "stratified", "time"] = "stratified"
    fractions: dict[str, float] = Field(
        default_factory=lambda: {"train": 0.8, "validation": 0.1, "test": 0.1})
    seed: int = 42
    time_col: str = "snapshot_date"
    cut_points: list[date | datetime | float] | None = None


class ExportSettings(_Model):
    """The ``export:`` section of conf (``conf/base/export.yaml``).

    >>> ExportSettings(formats=["csv", "parquet"]).split.method
    'stratified'
    """

    source_table: str = "customer_features"
    label: str | None = None  # None: the label the table version's metadata names
    entity: str | None = None  # None: the entity the table version's metadata names
    features_col: str = "features"
    split: SplitSettings = SplitSettings()
    formats: list[Format] = Field(default_factory=lambda: ["csv"])
    output: str | None = None
    overwrite: bool = False
    shuffle: bool = True
    rows_per_file: int | None = Field(default=None, ge=1)
    num_files: int | None = Field(default=None, ge=1)

    @field_validator("formats")
    @classmethod
    def _formats(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one format is needed")
        if len(set(value)) != len(value):
            raise ValueError(f"formats repeat: {value}")
        return value

    def split_spec(self, label: str, entity: str | None) -> SplitSpec:
        """The `SplitSpec` for ``label`` and ``entity``; a ValidationError names its keys."""
        s = self.split
        return SplitSpec(method=s.method, fractions=s.fractions, seed=s.seed, label_col=label,
                         time_col=s.time_col if s.method == "time" else None,
                         cut_points=s.cut_points,
                         entity_cols=[entity] if entity else None)

    def write_options(self, label: str, names: list[str], seed: int) -> WriteOptions:
        return WriteOptions(features_col=self.features_col, label_col=label,
                            feature_names=tuple(names), shuffle=self.shuffle, seed=seed,
                            num_files=self.num_files, rows_per_file=self.rows_per_file,
                            mode="overwrite" if self.overwrite else "error")


def export_settings(settings: Settings) -> ExportSettings:
    """Validate ``settings.extra["export"]``; errors name the file and the key.

    >>> export_settings(load_settings("local")).source_table  # doctest: +SKIP
    'customer_features'
    """
    cfg = settings.section(SECTION, ExportSettings)
    try:  # method/label/time combinations, fractions: checked before any Spark job
        cfg.split_spec(cfg.label or "label", cfg.entity)
    except ValidationError as exc:
        raise ConfigError(settings.explain(exc, (SECTION, "split"))) from None
    return cfg


# the feature table -----------------------------------------------------------------------------
def features_metadata(table: LakeTable, version: int, name: str) -> dict[str, Any]:
    """``metadata["features"]`` of the newest commit at or before ``version``.

    Commits without it (e.g. OPTIMIZE) are skipped, so the names describe the data read.
    """
    for commit in table.history():
        if commit.version <= version and isinstance(commit.metadata.get("features"), dict):
            meta = commit.metadata["features"]
            if not meta.get("names"):
                raise InputError(f"table {name} version {commit.version}: commit metadata "
                                 f"'features.names' is empty; expected the feature names in "
                                 f"vector order (written by build_features)")
            return meta
    raise InputError(f"table {name} ({table.location}): no commit at or before version {version} "
                     f"carries 'features' metadata (names, label, entity, pipeline_model); "
                     f"write the table with build_features")


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


@dataclass(frozen=True)
class _Source:
    """What a run reads: the table, the version and the feature table's contract."""

    name: str
    table: LakeTable
    version: int
    label: str
    entity: str | None
    names: list[str]
    pipeline_model: str | None


def _open_source(ctx: JobContext, cfg: ExportSettings, version: int | None) -> _Source:
    name = cfg.source_table
    if name not in ctx.settings.tables:
        raise ConfigError(f"{ctx.settings.where(SECTION, 'source_table')}: "
                          f"export.source_table: no table named {name!r} in the catalog; "
                          f"known tables: {', '.join(sorted(ctx.settings.tables))}")
    table = ctx.table(name)
    latest = table.version()
    if latest is None:
        raise InputError(f"table {name} does not exist at {table.location}; run build_features "
                         f"first")
    if version is not None and not 0 <= version <= latest:
        raise UsageError(f"table {name}: version {version} does not exist; versions 0..{latest}")
    version = latest if version is None else version
    meta = features_metadata(table, version, name)
    label = cfg.label or meta.get("label")
    if not label:
        raise ConfigError(f"{ctx.settings.where(SECTION, 'label')}: export.label: not "
                          f"set and table {name} version {version} names no label in its "
                          f"metadata")
    if meta.get("label") and meta["label"] != label:
        log.warning("export.label is %r but table %s version %d names %r as its label",
                    label, name, version, meta["label"])
    return _Source(name, table, version, label, cfg.entity or meta.get("entity"),
                   list(meta["names"]), meta.get("pipeline_model"))


# writing ---------------------------------------------------------------------------------------
def _sized(options: WriteOptions, rows: int) -> WriteOptions:
    """Without ``num_files``, as many parts as ``rows_per_file`` needs (at least one), rather
    than one per Spark partition: a small channel is one file, not a folder of slivers."""
    if options.num_files is not None or not options.rows_per_file:
        return options
    return replace(options, num_files=max(1, -(-rows // options.rows_per_file)))


def _write_splits(df: DataFrame, spec: SplitSpec, formats: list[str], root: str,
                  options: WriteOptions, where: str) -> tuple[dict[str, int],
                                                           dict[str, dict[str, ChannelFiles]]]:
    """Check, split and write ``df``; nothing is written when any row is unusable."""
    try:
        require_channel_columns(df, options.features_col, options.label_col)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    keep = [c for c in (*(spec.entity_cols or []), spec.time_col) if c and c in df.columns]
    base = df.select(*dict.fromkeys([*keep, options.label_col, options.features_col]))
    base = base.persist(StorageLevel.MEMORY_AND_DISK)
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
            frame = frame.select(options.label_col, options.features_col).persist(
                StorageLevel.MEMORY_AND_DISK)
            try:
                uris = {fmt: join_uri(root, f"{name}/{fmt}") for fmt in formats}
                channels[name] = write_channel_formats(frame, uris,
                                                       _sized(options, splits.rows[name]))
            finally:
                frame.unpersist()
        return splits.rows, channels
    finally:
        base.unpersist()


def _absolute(uri: str) -> str:
    return uri.rstrip("/") if "://" in uri else os.path.abspath(uri)


def output_root(ctx: JobContext, cfg: ExportSettings) -> str:
    """``export.output``, else ``<lake.layers.exports>/<source table>/<run id>``."""
    if cfg.output:
        return _absolute(cfg.output)
    layer = ctx.settings.lake.layers.get("exports")
    if not layer:
        raise ConfigError(f"{ctx.settings.where(SECTION, 'output')}: export.output: not "
                          f"set and lake.layers.exports is not configured; set one of them")
    return join_uri(_absolute(layer), f"{cfg.source_table}/{ctx.run_id}")


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


def run(ctx: JobContext, version: int | None = None) -> ExportReport:
    """Export the feature table (latest, or ``version``) as SageMaker channels + manifest."""
    cfg = export_settings(ctx.settings)
    src = _open_source(ctx, cfg, version)
    spec = cfg.split_spec(src.label, src.entity)
    root = output_root(ctx, cfg)
    where = f"export of {src.name} version {src.version}"
    log.info("%s -> %s (%s; %s)", where, root, spec.method, ", ".join(cfg.formats))
    data = src.table.read(version=src.version)
    # the features -> export gate: suite <source>_export, policy fail (no channel is written)
    outcome = gates.check(ctx, src.name, data, suite=f"{src.name}_export", policy="fail")
    try:
        df = as_vector(data, cfg.features_col, where)
        rows, channels = _write_splits(df, spec, cfg.formats, root,
                                       cfg.write_options(src.label, src.names, spec.seed), where)
    finally:
        if outcome is not None:
            outcome.unpersist()
    manifest = Manifest(
        run_id=ctx.run_id, label=src.label, feature_names=src.names, channels=channels,
        source_tables=[SourceTable(name=src.name, version=src.version, uri=src.table.location)],
        pipeline_model_path=src.pipeline_model, config_hash=ctx.settings.conf_hash,
        split=spec.model_dump(mode="json"))
    uri = write_manifest(manifest, root)
    log.info("wrote %s", uri)
    return ExportReport(ctx.run_id, src.name, src.version, root, uri, rows, channels)


# reproduce: decoding -------------------------------------------------------------------------
TEXT_FORMATS = ("csv", "libsvm")


def decode_records(fmt: str, data: bytes, where: str) -> list[bytes]:
    """A channel file's records as bytes: text lines (with their newline), RecordIO payloads,
    or Parquet rows (a hash of the column names, then the row's float64 values).

    >>> decode_records("csv", b"1,0.5\\n0,2\\n", "x.csv")
    [b'1,0.5\\n', b'0,2\\n']
    """
    if fmt in TEXT_FORMATS:
        lines = data.split(b"\n")
        tail = lines.pop()
        return [line + b"\n" for line in lines] + ([tail] if tail else [])
    if fmt == "recordio-protobuf":
        return list(iter_frames(data, where))
    table = pq.read_table(pa.BufferReader(data))
    tag = hashlib.blake2b("\x1f".join(table.column_names).encode(), digest_size=8).digest()
    if table.num_rows == 0:
        return []
    matrix = np.column_stack([c.to_numpy().astype("<f8") for c in table.columns])
    return [tag + row.tobytes() for row in matrix]


def render_record(fmt: str, record: bytes, width: int = 160) -> str:
    """A record as a person reads it (a line, or label and leading values)."""
    if fmt in TEXT_FORMATS:
        text = record.decode(errors="replace").rstrip("\n")
    elif fmt == "recordio-protobuf":
        rec = decode_record(record)
        label = rec["label"].get("values", {}).get("values", [])
        feats = rec["features"].get("values", {})
        text = f"label {label} features {feats.get('values', [])} keys {feats.get('keys', [])}"
    else:
        values = np.frombuffer(record[8:], dtype="<f8").tolist()
        text = f"label {values[0]} features {values[1:]}"
    return text if len(text) <= width else text[:width - 3] + "..."


def _file_records(task: tuple) -> Iterator[tuple]:
    """Executor side: one file -> (side, channel, format, record hash, file, position)."""
    side, channel, fmt, fs, root, name = task
    path = f"{root}/{name}"
    try:
        with fs.open_input_stream(path) as src:
            records = decode_records(fmt, src.read(), path)
    except (LakeprepError, OSError, pa.ArrowException) as exc:
        records = [f"<unreadable {fmt} file: {exc}>".encode()]
    for pos, rec in enumerate(records):
        yield side, channel, fmt, hashlib.blake2b(rec, digest_size=16).digest(), name, pos


# reproduce: comparing ------------------------------------------------------------------------
ORIGINAL, REBUILT = "original", "rebuilt"


@dataclass
class ChannelDiff:
    """One channel in one format, original files against the rebuild."""

    channel: str
    fmt: str
    rows_recorded: int | None  # the manifest's count (None: not in the manifest)
    rows_original: int = 0  # records in the files under the original prefix
    rows_rebuilt: int = 0
    only_original: int = 0  # records (with multiplicity) the rebuild does not have
    only_rebuilt: int = 0
    missing_files: list[str] = field(default_factory=list)  # in the manifest, not in storage
    unlisted_files: list[str] = field(default_factory=list)  # in storage, not in the manifest
    examples: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return (self.only_original == 0 and self.only_rebuilt == 0 and not self.missing_files
                and not self.unlisted_files and self.rows_recorded == self.rows_original
                == self.rows_rebuilt)

    def line(self) -> str:
        head = f"{self.channel}/{self.fmt}"
        if self.identical:
            return f"  {head}: identical ({self.rows_original:,} rows)"
        parts = [f"manifest {self.rows_recorded if self.rows_recorded is not None else '-'}, "
                 f"files {self.rows_original:,}, rebuilt {self.rows_rebuilt:,} rows"]
        if self.only_original or self.only_rebuilt:
            parts.append(f"{self.only_original:,} row(s) only in the original files, "
                         f"{self.only_rebuilt:,} only in the rebuild")
        if self.missing_files:
            parts.append(f"file(s) in the manifest but missing: {self.missing_files[:5]}")
        if self.unlisted_files:
            parts.append(f"file(s) not in the manifest (SageMaker would read them): "
                         f"{self.unlisted_files[:5]}")
        return f"  {head}: DIFFERS: " + "; ".join(parts)


def _channel_tasks(side: str, channels: dict[str, dict[str, ChannelFiles]]
                   ) -> tuple[list[tuple], dict[tuple[str, str], list[str]]]:
    tasks, listed = [], {}
    for channel, formats in channels.items():
        for fmt, files in formats.items():
            fs, root = resolve(files.uri)
            names = list_files(fs, root)
            listed[(channel, fmt)] = names
            tasks += [(side, channel, fmt, fs, root, n) for n in names]
    return tasks, listed


def compare_channels(spark, original: dict[str, dict[str, ChannelFiles]],
                     rebuilt: dict[str, dict[str, ChannelFiles]], examples: int = 3
                     ) -> list[ChannelDiff]:
    """Compare every channel and format as multisets of records, in one Spark job.

    Files are read and decoded by the executors; only 16-byte record hashes are shuffled.
    Every file under an original channel prefix counts, as SageMaker would read it.
    """
    tasks_o, listed_o = _channel_tasks(ORIGINAL, original)
    tasks_r, _ = _channel_tasks(REBUILT, rebuilt)
    tasks = tasks_o + tasks_r
    keys = list(dict.fromkeys((c, f) for side in (original, rebuilt) for c, fm in side.items()
                              for f in fm))  # the manifest's order
    diffs = {}
    for channel, fmt in keys:
        recorded = original.get(channel, {}).get(fmt)
        found = set(listed_o.get((channel, fmt), []))
        listed = set(recorded.files) if recorded else set()
        diffs[(channel, fmt)] = ChannelDiff(
            channel, fmt, recorded.rows if recorded else None,
            missing_files=sorted(listed - found),
            unlisted_files=sorted(found - listed) if recorded else [])
    if not tasks:
        return list(diffs.values())
    schema = ("side string, channel string, fmt string, key binary, file string, pos int")
    slices = max(1, min(len(tasks), spark.sparkContext.defaultParallelism * 4))
    records = spark.createDataFrame(
        spark.sparkContext.parallelize(tasks, slices).flatMap(_file_records), schema)
    is_o, is_r = F.col("side") == ORIGINAL, F.col("side") == REBUILT
    counts = records.groupBy("channel", "fmt", "key").agg(
        F.sum(is_o.cast("int")).alias("o"), F.sum(is_r.cast("int")).alias("r"),
        F.min(F.when(is_o, F.struct("file", "pos"))).alias("o_at"),
        F.min(F.when(is_r, F.struct("file", "pos"))).alias("r_at"),
    ).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        summary = counts.groupBy("channel", "fmt").agg(
            F.sum("o").alias("o"), F.sum("r").alias("r"),
            F.sum(F.greatest(F.col("o") - F.col("r"), F.lit(0))).alias("only_o"),
            F.sum(F.greatest(F.col("r") - F.col("o"), F.lit(0))).alias("only_r")).collect()
        for row in summary:
            d = diffs[(row.channel, row.fmt)]
            d.rows_original, d.rows_rebuilt = int(row.o), int(row.r)
            d.only_original, d.only_rebuilt = int(row.only_o), int(row.only_r)
        if any(d.only_original or d.only_rebuilt for d in diffs.values()):
            w = Window.partitionBy("channel", "fmt").orderBy("o_at", "r_at")
            rows = (counts.where(F.col("o") != F.col("r"))
                    .withColumn("n", F.row_number().over(w)).where(F.col("n") <= examples)
                    .collect())
            for row in rows:
                diffs[(row.channel, row.fmt)].examples.append(
                    _example(row, original, rebuilt))
    finally:
        counts.unpersist()
    return list(diffs.values())


def _example(row, original, rebuilt) -> str:
    """Read the one file that holds a differing record and show the record."""
    side, at, channels = ((ORIGINAL, row.o_at, original) if row.o > row.r
                          else (REBUILT, row.r_at, rebuilt))
    files = channels[row.channel][row.fmt]
    fs, root = resolve(files.uri)
    path = f"{root}/{at.file}"
    try:
        with fs.open_input_stream(path) as src:
            record = decode_records(row.fmt, src.read(), path)[at.pos]
        text = render_record(row.fmt, record)
    except (LakeprepError, OSError, pa.ArrowException, IndexError) as exc:
        text = f"<unreadable: {exc}>"
    times = abs(row.o - row.r)
    return f"only in the {side} ({times}x) {at.file} record {at.pos}: {text}"


@dataclass
class ReproduceReport:
    """Whether an export's channels rebuild row for row; ``lines()`` is what the CLI prints."""

    manifest_uri: str
    export_run_id: str
    source_table: str
    source_version: int
    config_hash_recorded: str
    config_hash_now: str
    rebuilt_at: str | None  # None when the temporary rebuild was deleted
    diffs: list[ChannelDiff]

    @property
    def identical(self) -> bool:
        return bool(self.diffs) and all(d.identical for d in self.diffs)

    @property
    def config_changed(self) -> bool:
        return self.config_hash_recorded != self.config_hash_now

    def lines(self) -> list[str]:
        out = [f"reproduce export {self.export_run_id} ({self.manifest_uri}) from "
               f"{self.source_table} version {self.source_version}"]
        if self.config_changed:
            out.append(f"config hash changed since the export: {self.config_hash_recorded} -> "
                       f"{self.config_hash_now} (split, label and formats come from the "
                       f"manifest; features column and file layout from the current conf)")
        else:
            out.append(f"config hash {self.config_hash_now} unchanged")
        for d in self.diffs:
            out.append(d.line())
            out += [f"      {e}" for e in d.examples]
        if self.rebuilt_at:
            out.append(f"rebuild kept at {self.rebuilt_at}")
        bad = sum(not d.identical for d in self.diffs)
        out.append("IDENTICAL: every channel and format rebuilt row for row" if self.identical
                   else f"DIFFERENT: {bad} of {len(self.diffs)} channel format(s) differ")
        return out


def _source_table(ctx: JobContext, src: SourceTable) -> LakeTable:
    """The recorded table: by its catalog name when it still lives at the recorded place."""
    spec = ctx.settings.tables.get(src.name)
    if spec is not None and (src.uri is None or _absolute(spec.location) == _absolute(src.uri)):
        return ctx.table(src.name)
    if src.uri is None:
        raise ConfigError(f"the manifest's source table {src.name!r} has no uri and is not in "
                          f"the catalog; known tables: {', '.join(sorted(ctx.settings.tables))}")
    return ctx.table_at(src.uri, spec.partition_by if spec else ())


def _rebuild_root(ctx: JobContext) -> str:
    layer = ctx.settings.lake.layers.get("exports")
    if layer:
        return join_uri(_absolute(layer), f"_reproduce/{ctx.run_id}")
    return tempfile.mkdtemp(prefix="lakeprep-reproduce-")


def reproduce(ctx: JobContext, manifest_uri: str, into: str | None = None,
              keep: bool = False) -> ReproduceReport:
    """Rebuild an export from its manifest (time travel to the recorded version) and compare.

    The rebuild goes to ``into``, else to ``<exports layer>/_reproduce/<run id>`` (or a temp
    folder), which is deleted afterwards unless ``keep``.

    >>> reproduce(ctx, "s3://b/exports/customer_features/r1/manifest.json").identical
    ... # doctest: +SKIP
    True
    """
    uri = manifest_location(manifest_uri)
    manifest = read_manifest(uri)
    if len(manifest.source_tables) != 1:
        raise InputError(f"{uri}: expected one source table, found "
                         f"{[s.name for s in manifest.source_tables]}")
    if not manifest.split:
        raise InputError(f"{uri}: the manifest records no split spec; it cannot be rebuilt")
    src = manifest.source_tables[0]
    spec = SplitSpec.from_config(manifest.split, where=f"{uri}: split")
    cfg = export_settings(ctx.settings)
    where = f"rebuild of {src.name} version {src.version}"
    df = as_vector(_source_table(ctx, src).read(version=src.version), cfg.features_col, where)
    formats = list(dict.fromkeys(f for fm in manifest.channels.values() for f in fm))
    root, temporary = (_absolute(into), False) if into else (_rebuild_root(ctx), True)
    log.info("%s -> %s", where, root)
    # Never overwrite: a rebuild pointed at the original export by mistake must not replace it.
    options = replace(cfg.write_options(manifest.label, manifest.feature_names, spec.seed),
                      mode="error")
    try:
        _, rebuilt = _write_splits(df, spec, formats, root, options, where)
        diffs = compare_channels(ctx.spark, manifest.channels, rebuilt)
    finally:
        if temporary and not keep:
            fs, path = resolve(root)
            if fs.get_file_info(path).type != pafs.FileType.NotFound:
                fs.delete_dir(path)
    report = ReproduceReport(uri, manifest.run_id, src.name, src.version, manifest.config_hash,
                             ctx.settings.conf_hash, root if keep or not temporary else None,
                             diffs)
    log.info("reproduce %s: %s", manifest.run_id, "identical" if report.identical else "differs")
    return report


if __name__ == "__main__":  # spark-submit jobs/export_training.py --env local
    from jobs.cli import main

    sys.exit(main(["run", JOB, *sys.argv[1:]]))
