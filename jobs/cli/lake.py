"""The commands that read or tidy the lake: ``tables``, ``history``, ``lineage``, ``verify``,
``vacuum``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from jobs.cli.output import err, out
from lakeprep.config import Settings
from lakeprep.errors import UsageError

if TYPE_CHECKING:
    from lakeprep.runtime import JobContext


def cmd_tables(args: argparse.Namespace, settings: Settings) -> int:
    from lakeprep.runtime import JobContext

    ctx = JobContext.start(settings, "tables")
    rows = []
    for spec in settings.tables.values():
        if args.layer and spec.layer != args.layer:
            continue
        # a raw table is files, not a Delta table: its location is the source glob
        raw = spec.layer == "raw" and spec.source is not None
        version = None if raw else ctx.table(spec.name).version()
        rows.append([spec.name, spec.layer, "-" if version is None else version,
                     ", ".join(spec.partition_by), ", ".join(spec.primary_key),
                     settings.source_pattern(spec) if raw else spec.location])
    out.table("", ["name", "layer", "version", "partitioned by", "primary key", "location"],
              rows, kind="tables")
    return 0


def cmd_history(args: argparse.Namespace, settings: Settings) -> int:
    from lakeprep.runtime import JobContext

    ctx = JobContext.start(settings, "history")
    rows = []
    for c in ctx.table(args.table).history(args.limit):
        m = c.metadata
        gate = m.get("gate") if isinstance(m.get("gate"), dict) else {}
        counts = ", ".join(f"{k}={v}" for k, v in (m.get("counts") or {}).items())
        # `counts.quarantined` holds the parse rejects known before the write; the rows the
        # gate set aside are in the gate's own counts
        rows.append([c.version, f"{c.timestamp:%Y-%m-%d %H:%M:%S}", c.operation,
                     str(m.get("run_id", "")), str(m.get("job", "")), counts,
                     (gate.get("counts") or {}).get("quarantined", 0) if gate else "",
                     gate.get("verdict", "") if gate else ""])
    out.table(f"history of {args.table}", ["version", "time (UTC)", "operation", "run", "job",
                                           "counts", "gate quarantined", "gate"], rows,
              kind="history")
    _quarantine_reasons(ctx, args.table)
    return 0


def _quarantine_reasons(ctx: JobContext, table: str) -> None:
    """The reasons of the rows in ``table``'s quarantine table, grouped (old rows from their
    messages): one aggregation over it, when it exists. Not the result a script asks `history`
    for, so ``--quiet`` leaves it out (and its aggregation)."""
    from lakeprep.ingest.problems import group_problems
    from lakeprep.quarantine import quarantine_table

    if out.quiet:
        return
    quarantine = quarantine_table(ctx, table)
    version = quarantine.version()
    if version is None:
        return
    summary = group_problems(quarantine.read())
    rows = [[g.level, g.column or "-", g.code, g.rows, ", ".join(map(repr, g.examples))]
            for g in summary.groups]
    if summary.more_groups:
        rows.append(["...", "", f"{summary.more_groups} more group(s)", summary.more_rows, ""])
    out.table(f"why rows of {table} are set aside ({ctx.spec(table).quarantine_name} version "
              f"{version})", ["level", "column", "code", "rows", "examples"], rows,
              essential=False, kind="quarantine")


def cmd_lineage(args: argparse.Namespace, settings: Settings) -> int:
    from rich.text import Text
    from rich.tree import Tree

    from lakeprep.lineage import lineage_graph, render_tree
    from lakeprep.runtime import JobContext

    ctx = JobContext.start(settings, "lineage")
    if args.table in settings.tables:
        graph = lineage_graph(ctx, args.table, args.version)
        out.show(render_tree(graph), graph)
        return 0
    if "/" not in args.table and not args.table.endswith(".json"):
        settings.table(args.table)  # neither a table nor a path: list the known tables
    # an export: its manifest pins the feature table versions it was built from
    from lakeprep.sagemaker import read_manifest

    m = read_manifest(args.table)
    channels = ", ".join(f"{c} {next(iter(f.values())).rows:,}" for c, f in m.channels.items())
    root = Tree(Text("export", style="bold").append(
        f" {m.run_id} · {m.created_at:%Y-%m-%d %H:%M:%S} UTC · {channels} · formats "
        f"{', '.join(next(iter(m.channels.values())))}"))
    graphs = [lineage_graph(ctx, src.name, src.version) for src in m.source_tables]
    for graph in graphs:
        render_tree(graph, root)
    out.show(root, {"kind": "export", "run_id": m.run_id, "created_at": m.created_at,
                    "channels": {c: next(iter(f.values())).rows for c, f in m.channels.items()},
                    "inputs": graphs})
    return 0


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    from lakeprep.lake.verify import verify_table

    if bool(args.table) == bool(args.all):
        raise UsageError("verify: name one TABLE or pass --all")
    damaged = 0
    for name, location in settings.lake_tables(args.table):
        summary = verify_table(location, settings.lake.storage_options)
        if not summary.versions:
            continue
        for finding in summary.findings or []:
            damaged += 1
            err.print("damaged", f"{name}: {finding.line()}")
        if not summary.findings:
            out.line(f"ok {name}: {summary.versions} version(s), {summary.files} file(s), "
                     f"{summary.rows:,} row(s)", essential=True, table=name, status="ok",
                     versions=summary.versions, files=summary.files, rows=summary.rows)
    return 4 if damaged else 0


def cmd_vacuum(args: argparse.Namespace, settings: Settings) -> int:
    from jobs import vacuum

    report = vacuum.run(settings, args.table, dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    for swept in report.tables:
        for path in [*swept.files, *swept.models] if args.dry_run else []:
            out.line(f"{swept.table}: would remove {path}", table=swept.table, path=path)
        out.line(f"{swept.table}: {verb} {len(swept.files)} uncommitted data file(s), "
                 f"{len(swept.models)} orphan model(s)", table=swept.table,
                 files=len(swept.files), models=len(swept.models))
    for folder in report.exports if args.dry_run else []:
        out.line(f"exports: would remove {folder}", path=folder)
    for why in report.skipped:
        err.print("skipped", why, style="yellow")
    out.line(report.summary(), essential=True, dry_run=args.dry_run, files=report.files,
             models=report.models, exports=len(report.exports), closed=report.closed_runs)
    return 0
