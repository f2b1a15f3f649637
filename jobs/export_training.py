"""Export training data: the feature table -> SageMaker channels + manifest.json.

``run`` reads the feature table (latest or a given Delta version), splits it by entity (no
customer in two splits), writes every split in every configured format with the executors, and
writes ``manifest.json`` beside the channels: files, content types, rows and class balance,
feature names in vector order, label, the table version read, the pipeline model, config hash,
run id and split spec; ``jobs.reproduce`` rebuilds them from it.

    lakeprep run export --env local [--set NAME] [--version N]

Example::

    report = run(load_settings("local"))
    report.manifest_uri
    # -> '/lake/exports/customer_features/20260501T...-export-1a2b3c4d/manifest.json'
"""

from __future__ import annotations

import logging

from jobs import gates
from lakeprep.config.sections import ExportSettings
from lakeprep.featuresets import open_feature_table
from lakeprep.lake.lease import hold
from lakeprep.lake.sweep import sweep_exports
from lakeprep.lineage import DatasetRef, table_ref
from lakeprep.pause import point
from lakeprep.runtime import JobContext, job
from lakeprep.sagemaker import Manifest, SourceTable, WriteOptions, write_manifest
from lakeprep.sagemaker.export import ExportReport, as_vector, write_splits

log = logging.getLogger(f"lakeprep.{__name__}")


@job("export")
def run(ctx: JobContext, version: int | None = None, feature_set: str | None = None
        ) -> ExportReport:
    """Export the feature table (latest, or ``version``) as SageMaker channels + manifest.

    ``feature_set`` exports that set's feature table (its label and row id), into
    ``<exports>/<its table>/<run id>``; without it, ``export.source_table``.
    """
    cfg = ctx.settings.export_for(feature_set)
    root = ctx.settings.export_root(cfg, ctx.run_id)
    # the export folder's own lease while it is written: vacuum never takes an export in progress
    with hold(root, ctx.run_id, ctx.job):
        report = _export(ctx, cfg, version, root)
    if not cfg.output:  # the folders next to ours: exports a killed run left without manifest
        parent, _, mine = root.rstrip("/").rpartition("/")
        sweep_exports(parent, skip=[mine])
    return report


def _export(ctx: JobContext, cfg: ExportSettings, version: int | None, root: str
            ) -> ExportReport:
    src = open_feature_table(ctx, cfg, version)
    spec = cfg.split_spec(src.label, src.entity)
    where = f"export of {src.name} version {src.version}"
    log.info("%s -> %s (%s; %s)", where, root, spec.method, ", ".join(cfg.formats))
    data = src.table.read(version=src.version)
    # the features -> export gate: suite <source>_export, policy fail (no channel is written)
    outcome = gates.check(ctx, src.name, data, suite=f"{src.name}_export", policy="fail")
    try:
        df = as_vector(data, cfg.features_col, where)
        options = WriteOptions.for_export(cfg, src.label, src.names, spec.seed)
        rows, channels = write_splits(df, spec, cfg.formats, root, options, where)
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
