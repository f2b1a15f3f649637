"""reproduce: rebuild an export from its manifest and compare it record for record.

It reads the source table *as of* the version the manifest recorded (Delta time travel), splits
and writes again with the manifest's spec, and compares the files record for record (independent
of file order and names), so an audit can show that a model's training data is what the lake
says.

    lakeprep reproduce lakeprep-data/exports/customer_features/<run_id> --env local

Example::

    reproduce(load_settings("local"), report.manifest_uri).identical
    # -> True
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import replace

from lakeprep.config.split import SplitSpec
from lakeprep.errors import ConfigError, InputError
from lakeprep.lake import LakeTable
from lakeprep.runtime import JobContext, job
from lakeprep.sagemaker import SourceTable, WriteOptions, read_manifest
from lakeprep.sagemaker.compare import ReproduceReport, compare_channels
from lakeprep.sagemaker.export import as_vector, write_splits
from lakeprep.sagemaker.manifest import manifest_uri as manifest_location
from lakeprep.storage import delete_tree
from lakeprep.uris import absolute, join_uri

log = logging.getLogger(f"lakeprep.{__name__}")


def _source_table(ctx: JobContext, src: SourceTable) -> LakeTable:
    """The recorded table: by its catalog name when it still lives at the recorded place."""
    spec = ctx.settings.tables.get(src.name)
    if spec is not None and (src.uri is None or absolute(spec.location) == absolute(src.uri)):
        return ctx.table(src.name)
    if src.uri is None:
        raise ConfigError(f"the manifest's source table {src.name!r} has no uri and is not in "
                          f"the catalog; known tables: {', '.join(sorted(ctx.settings.tables))}")
    return ctx.table_at(src.uri, spec.partition_by if spec else ())


def _rebuild_root(ctx: JobContext) -> str:
    layer = ctx.settings.lake.layers.get("exports")
    if layer:
        return join_uri(absolute(layer), f"_reproduce/{ctx.run_id}")
    return tempfile.mkdtemp(prefix="lakeprep-reproduce-")


@job("reproduce")
def reproduce(ctx: JobContext, manifest_uri: str, into: str | None = None,
              keep: bool = False) -> ReproduceReport:
    """Rebuild an export from its manifest (time travel to the recorded version) and compare.

    The rebuild goes to ``into``, else to ``<exports layer>/_reproduce/<run id>`` (or a temp
    folder), which is deleted afterwards unless ``keep``.

    Example::

        reproduce(ctx, "s3://b/exports/customer_features/r1/manifest.json").identical
        # -> True
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
    cfg = ctx.settings.export
    where = f"rebuild of {src.name} version {src.version}"
    df = as_vector(_source_table(ctx, src).read(version=src.version), cfg.features_col, where)
    formats = list(dict.fromkeys(f for fm in manifest.channels.values() for f in fm))
    root, temporary = (absolute(into), False) if into else (_rebuild_root(ctx), True)
    log.info("%s -> %s", where, root)
    # Never overwrite: a rebuild pointed at the original export by mistake must not replace it.
    options = replace(WriteOptions.for_export(cfg, manifest.label, manifest.feature_names,
                                              spec.seed), mode="error")
    try:
        _, rebuilt = write_splits(df, spec, formats, root, options, where)
        diffs = compare_channels(ctx.spark, manifest.channels, rebuilt)
    finally:
        if temporary and not keep:
            delete_tree(ctx.spark, root)
    report = ReproduceReport(uri, manifest.run_id, src.name, src.version, manifest.config_hash,
                             ctx.settings.conf_hash, root if keep or not temporary else None,
                             diffs)
    log.info("reproduce %s: %s", manifest.run_id, "identical" if report.identical else "differs")
    return report

