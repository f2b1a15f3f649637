"""Export training data: the feature table -> SageMaker channels + manifest.json.

``run`` reads the feature table (latest or a given Delta version), splits it by entity (no
customer in two splits), writes every split in every configured format with the executors, and
writes ``manifest.json`` beside the channels: files, content types, rows and class balance,
feature names in vector order, label, the table version read, the pipeline model, config hash,
run id and split spec; ``jobs.reproduce`` rebuilds them from it.

    lakeprep run export --env local [--set NAME] [--version N]

>>> report = run(load_settings("local"))  # doctest: +SKIP
>>> report.manifest_uri  # doctest: +SKIP
'/lake/exports/customer_features/20260501T...-export-1a2b3c4d/manifest.json'
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from pyspark.ml.functions import array_to_vector
from pyspark.ml.linalg import VectorUDT
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs import gates
from lakeprep.config.sections import ExportSettings
from lakeprep.errors import ConfigError, InputError, UsageError
from lakeprep.frames import cache
from lakeprep.lake import LakeTable
from lakeprep.lake.lease import hold
from lakeprep.lake.sweep import sweep_exports
from lakeprep.lineage import DatasetRef, table_ref
from lakeprep.pause import point
from lakeprep.runtime import JobContext, job
from lakeprep.sagemaker import (
    ChannelFiles,
    Manifest,
    SourceTable,
    SplitSpec,
    WriteOptions,
    check_profile,
    profile_channel,
    split_dataset,
    write_channel_formats,
    write_manifest,
)
from lakeprep.sagemaker.checks import require_channel_columns
from lakeprep.storage import join_uri

log = logging.getLogger(f"lakeprep.{__name__}")

SECTION = "export"
Format = Literal["csv", "libsvm", "recordio-protobuf", "parquet"]


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


def export_settings(ctx: JobContext, feature_set: str | None) -> ExportSettings:
    """The ``export`` section, pointed at ``feature_set``'s table when one is named.

    The section's label and entity hold for its own ``source_table``; another set's table
    exports with that set's label and row id.
    """
    cfg = ctx.settings.export
    if feature_set is None:
        return cfg
    fs = ctx.settings.feature_sets(feature_set)[feature_set]
    if fs.table == cfg.source_table:
        return cfg
    return cfg.model_copy(update={"source_table": fs.table, "label": fs.label_name,
                                  "entity": fs.id_column})


# writing ---------------------------------------------------------------------------------------
def _sized(options: WriteOptions, rows: int) -> WriteOptions:
    """Without ``num_files``, as many parts as ``rows_per_file`` needs (at least one), rather
    than one per Spark partition: a small channel is one file, not a folder of slivers."""
    if options.num_files is not None or not options.rows_per_file:
        return options
    return replace(options, num_files=max(1, -(-rows // options.rows_per_file)))


def _write_splits(df: DataFrame, spec: SplitSpec, formats: Sequence[str], root: str,
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


@job("export")
def run(ctx: JobContext, version: int | None = None, feature_set: str | None = None
        ) -> ExportReport:
    """Export the feature table (latest, or ``version``) as SageMaker channels + manifest.

    ``feature_set`` exports that set's feature table (its label and row id), into
    ``<exports>/<its table>/<run id>``; without it, ``export.source_table``.
    """
    cfg = export_settings(ctx, feature_set)
    root = output_root(ctx, cfg)
    # the export folder's own lease while it is written: vacuum never takes an export in progress
    with hold(root, ctx.run_id, ctx.job):
        report = _export(ctx, cfg, version, root)
    if not cfg.output:  # the folders next to ours: exports a killed run left without manifest
        parent, _, mine = root.rstrip("/").rpartition("/")
        sweep_exports(parent, skip=[mine])
    return report


def _export(ctx: JobContext, cfg: ExportSettings, version: int | None, root: str
            ) -> ExportReport:
    src = _open_source(ctx, cfg, version)
    spec = cfg.split_spec(src.label, src.entity)
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
    point("export.committing")  # channels written, no manifest yet: where the kill tests strike
    uri = write_manifest(manifest, root)
    log.info("wrote %s", uri)
    ctx.record_input(table_ref(ctx, src.name, src.version))
    for channel, formats in channels.items():
        for fmt, files in formats.items():
            ctx.record_output(DatasetRef(f"{channel}/{fmt}", files.uri, version=ctx.run_id,
                                         file_format=fmt))
    return ExportReport(ctx.run_id, src.name, src.version, root, uri, rows, channels)
