"""The ``lakeprep`` command line. Exit codes: 0 ok, 2 usage or config error, 3 input error,
4 lake table error, 5 quality gate failed, 1 anything else lakeprep raised on purpose."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from lakeprep.config import ENVIRONMENTS, Settings, load_settings
from lakeprep.errors import LakeprepError, UsageError

out = Console()
err = Console(stderr=True)
log = logging.getLogger("lakeprep")

JOBS: dict[str, str] = {
    "ingest": "raw files -> bronze Delta tables (incremental, deduplicated, quarantined)",
    "build-features": "bronze -> per-customer snapshot -> fitted pipeline -> feature table",
    "transform": "apply the saved pipeline to a new snapshot (batch inference preprocessing)",
    "export": "feature table -> SageMaker train/validation/test channels + manifest.json",
}


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--env", default="local", help=f"configuration environment "
                        f"(conf/<env>; shipped: {', '.join(ENVIRONMENTS)}); default local")
    common.add_argument("--conf-dir", help="configuration folder (default: $LAKEPREP_CONF_DIR, "
                        "./conf, or the one shipped with the source)")
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging")

    p = argparse.ArgumentParser(prog="lakeprep", description="Spark data prep and feature "
                                "engineering for ML on AWS.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", parents=[common], help="run a job",
                         description="Run a job. Jobs: " + "; ".join(
                             f"{k}: {v}" for k, v in JOBS.items()))
    run.add_argument("job", choices=sorted(JOBS))
    run.add_argument("--table", action="append", dest="tables", metavar="NAME",
                     help="only this table (repeatable); default: all the job's tables")
    run.add_argument("--cutoff", type=_iso_date, metavar="YYYY-MM-DD",
                     help="snapshot date (build-features, transform)")
    run.add_argument("--model", help="pipeline model path (transform; default: the one the "
                     "feature table's latest version records)")
    run.add_argument("--version", type=int, help="feature table version to export "
                     "(export; default: latest)")

    rep = sub.add_parser("reproduce", parents=[common],
                         help="rebuild an export from its manifest and compare it row for row")
    rep.add_argument("manifest", help="manifest.json, or the export folder holding it")
    rep.add_argument("--into", help="where to rebuild (default: a scratch folder, removed after)")
    rep.add_argument("--keep", action="store_true", help="keep the rebuilt channels")

    gen = sub.add_parser("generate-sample", parents=[common],
                         help="write the sample retail data (and copy the NYC taxi samples)")
    gen.add_argument("--out", help="folder or s3:// URI (default: the env's raw layer)")
    gen.add_argument("--customers", type=int, default=2000)
    gen.add_argument("--orders-per-customer", type=float, default=8.0)
    gen.add_argument("--events-per-customer", type=float, default=25.0)
    gen.add_argument("--batches", type=int, default=2)
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--overwrite", action="store_true", help="replace existing sample files")
    gen.add_argument("--taxi-dir", help="NYC taxi CSV samples to copy into the raw layer "
                     "(default: ../shared/data/nyc_taxi when it exists)")

    lin = sub.add_parser("lineage", parents=[common],
                         help="a table version's (or an export's) upstream tree, down to the "
                              "raw files")
    lin.add_argument("table", help="a catalog table, or an export folder / its manifest.json")
    lin.add_argument("--version", type=int, help="table version (default: latest)")

    qual = sub.add_parser("quality", help="validation results, Data Docs and suite profiling")
    qsub = qual.add_subparsers(dest="quality_command", required=True, metavar="ACTION")
    qsub.add_parser("docs", parents=[common], help="build Great Expectations Data Docs (HTML) "
                    "from the saved validation results")
    prof = qsub.add_parser("profile", parents=[common],
                           help="profile a table and write a starting suite to review")
    prof.add_argument("table")
    prof.add_argument("--out", help="suite YAML to write (default: ./<table>.suite.yaml)")

    tables = sub.add_parser("tables", parents=[common], help="list the catalog's tables")
    tables.add_argument("--layer", help="only this layer")

    hist = sub.add_parser("history", parents=[common], help="a table's versions and metadata")
    hist.add_argument("table")
    hist.add_argument("--limit", type=int, default=20)

    ver = sub.add_parser("verify", parents=[common], help="check tables' Delta logs against "
                         "their files (commits complete, files present, sizes and row counts)")
    ver.add_argument("table", nargs="?", help="a catalog table (default with --all: every "
                     "table, its quarantine table and the ingest log)")
    ver.add_argument("--all", action="store_true", help="every table the lake holds")

    vac = sub.add_parser("vacuum", parents=[common], help="remove data files that killed runs "
                         "staged and never committed (every table, under its lease) and close "
                         "their lineage runs; run it when no job runs")
    vac.add_argument("table", nargs="?", help="only this catalog table (and its quarantine)")
    return p


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, found {value!r}") from None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(message)s", handlers=[RichHandler(console=err,
                                                                    show_path=False)])
    for noisy in ("py4j", "great_expectations", "urllib3", "botocore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = load_settings(args.env, args.conf_dir)
        handler: Callable[[argparse.Namespace, Settings], int] = COMMANDS[args.command]
        return handler(args, settings)
    except LakeprepError as e:
        err.print(f"[bold red]error:[/] {e}", highlight=False, markup=True, soft_wrap=True)
        return e.exit_code
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from lakeprep.runtime import JobContext

    job, show = RUNNERS[args.job]()
    ctx = JobContext.start(settings, job.job_name)
    out.print(f"run [bold]{ctx.run_id}[/] · env {settings.env} · engine {ctx.engine}")
    try:
        return show(job(ctx, **_job_arguments(args)))
    finally:
        _print_gates(ctx)


def _job_arguments(args: argparse.Namespace) -> dict[str, Any]:
    if args.job == "ingest":
        return {"tables": args.tables}
    if args.job == "build-features":
        return {"cutoff": args.cutoff}
    if args.job == "transform":
        return {"cutoff": args.cutoff, "model_path": args.model}
    return {"version": args.version}


def _show_ingest(reports: Any) -> int:
    for r in reports:
        style = "green" if r.reconciles or not r.files_new else "bold red"
        out.print(f"[{style}]{r.line()}[/]", highlight=False)
    return 0 if all(r.reconciles or not r.files_new for r in reports) else 1


def _show_lines(report: Any) -> int:
    for line in report.lines():
        out.print(line, highlight=False)
    return 0


def _ingest() -> tuple[Any, Callable[[Any], int]]:
    from jobs import ingest

    return ingest.run, _show_ingest


def _build_features() -> tuple[Any, Callable[[Any], int]]:
    from jobs import build_features

    return build_features.run, _show_lines


def _transform() -> tuple[Any, Callable[[Any], int]]:
    from jobs import transform

    return transform.run, _show_lines


def _export() -> tuple[Any, Callable[[Any], int]]:
    from jobs import export_training

    return export_training.run, _show_lines


# the job's function (imported when it runs: Spark and its libraries load only then) and how
# its report is shown
RUNNERS: dict[str, Callable[[], tuple[Any, Callable[[Any], int]]]] = {
    "ingest": _ingest,
    "build-features": _build_features,
    "transform": _transform,
    "export": _export,
}


def _print_gates(ctx: Any) -> None:
    from quality.summary import summary_table

    for table, outcome in ctx.gates:
        counts = ", ".join(f"{k} {v:,}" for k, v in outcome.counts.items())
        out.print(summary_table(outcome.report, title=f"quality gate {table}: "
                                f"{outcome.verdict.value} (policy {outcome.policy.value}"
                                f"{'; ' + counts if counts else ''})"))


def cmd_generate_sample(args: argparse.Namespace, settings: Settings) -> int:
    import shutil

    from jobs.generate_sample import generate
    from lakeprep.runtime import session_for

    target = args.out or settings.lake.layers.get("raw")
    if not target:
        raise UsageError("--out is required: lake.layers.raw is not set in conf")
    spark = session_for(settings)
    report = generate(spark, target, customers=args.customers,
                      orders_per_customer=args.orders_per_customer,
                      events_per_customer=args.events_per_customer, batches=args.batches,
                      seed=args.seed, overwrite=args.overwrite)
    out.print(report.summary(), highlight=False)
    taxi = Path(args.taxi_dir) if args.taxi_dir else _default_taxi_dir()
    if taxi is not None and "://" not in target:
        dest = Path(target) / "nyc_taxi"
        dest.mkdir(parents=True, exist_ok=True)
        copied = [shutil.copy2(f, dest / f.name) for f in sorted(taxi.glob("*.csv"))]
        out.print(f"copied {len(copied)} NYC taxi sample file(s) from {taxi} to {dest}")
    elif args.taxi_dir:
        raise UsageError(f"--taxi-dir {args.taxi_dir}: copying into {target} is "
                                    f"only supported for local folders")
    return 0


def _default_taxi_dir() -> Path | None:
    for base in (Path.cwd(), Path(__file__).resolve().parents[1]):
        candidate = base.parent / "shared" / "data" / "nyc_taxi"
        if candidate.is_dir():
            return candidate
    return None


def cmd_tables(args: argparse.Namespace, settings: Settings) -> int:
    from lakeprep.runtime import JobContext

    ctx = JobContext.start(settings, "tables")
    t = Table("name", "layer", "version", "partitioned by", "primary key", "location")
    for spec in settings.tables.values():
        if args.layer and spec.layer != args.layer:
            continue
        version = ctx.table(spec.name).version() if spec.layer != "raw" else None
        t.add_row(spec.name, spec.layer, "-" if version is None else str(version),
                  ", ".join(spec.partition_by), ", ".join(spec.primary_key), spec.location)
    out.print(t)
    return 0


def cmd_history(args: argparse.Namespace, settings: Settings) -> int:
    from lakeprep.runtime import JobContext

    ctx = JobContext.start(settings, "history")
    t = Table("version", "time (UTC)", "operation", "run", "job", "counts")
    for c in ctx.table(args.table).history(args.limit):
        m = c.metadata
        counts = ", ".join(f"{k}={v}" for k, v in (m.get("counts") or {}).items())
        t.add_row(str(c.version), f"{c.timestamp:%Y-%m-%d %H:%M:%S}", c.operation,
                  str(m.get("run_id", "")), str(m.get("job", "")), counts)
    out.print(t)
    return 0


def cmd_reproduce(args: argparse.Namespace, settings: Settings) -> int:
    from jobs.reproduce import reproduce

    report = reproduce(settings, args.manifest, into=args.into, keep=args.keep)
    for line in report.lines():
        out.print(line, highlight=False)
    return 0 if report.identical else 1


def cmd_lineage(args: argparse.Namespace, settings: Settings) -> int:
    from rich.tree import Tree

    from lakeprep.lineage import lineage_tree, render_tree
    from lakeprep.runtime import JobContext

    ctx = JobContext.start(settings, "lineage")
    if args.table in settings.tables:
        out.print(lineage_tree(ctx, args.table, args.version))
        return 0
    if "/" not in args.table and not args.table.endswith(".json"):
        settings.table(args.table)  # neither a table nor a path: list the known tables
    # an export: its manifest pins the feature table versions it was built from
    from lakeprep.lineage import lineage_graph
    from lakeprep.sagemaker import read_manifest

    m = read_manifest(args.table)
    channels = ", ".join(f"{c} {next(iter(f.values())).rows:,}" for c, f in m.channels.items())
    root = Tree(f"[bold]export[/] {m.run_id} · {m.created_at:%Y-%m-%d %H:%M:%S} UTC · "
                f"{channels} · formats {', '.join(next(iter(m.channels.values())))}")
    for src in m.source_tables:
        render_tree(lineage_graph(ctx, src.name, src.version), root)
    out.print(root)
    return 0


def cmd_quality(args: argparse.Namespace, settings: Settings) -> int:
    from jobs import gates
    from lakeprep.runtime import JobContext

    ctx = JobContext.start(settings, f"quality-{args.quality_command}")
    if args.quality_command == "docs":
        from jobs.quality_docs import build_data_docs

        results = Path(gates.results_folder(ctx))
        if not results.is_dir() or not any(results.glob("*.json")):
            raise UsageError(f"no validation results in {results}: run a job with a gated "
                             f"table first (e.g. lakeprep run ingest)")
        index = build_data_docs(results, gates.docs_folder(ctx))
        out.print(f"Data Docs: {index}")
        return 0
    import yaml

    from quality.profile import profile

    table = ctx.table(args.table)
    if table.version() is None:
        raise UsageError(f"table {args.table} has no version yet at {table.location}")
    suite = profile(table.read(), args.table)
    target = Path(args.out or f"{args.table}.suite.yaml")
    target.write_text("# A starting suite profiled from the data: review it, then move it to "
                      f"conf/<env>/quality/{args.table}.yaml\n"
                      + yaml.safe_dump(suite, sort_keys=False))
    out.print(f"wrote {target} ({len(suite.get('expectations', []))} expectations to review)")
    return 0


def _lake_tables(settings: Settings, table: str | None) -> list[tuple[str, str]]:
    """(name, location) of ``table`` and its quarantine, or of every table the lake holds."""
    names = [table] if table else [s.name for s in settings.tables.values() if s.layer != "raw"]
    targets = []
    for name in names:
        spec = settings.table(name)
        targets += [(name, spec.location), (spec.quarantine_name, spec.quarantine_location)]
    if not table and settings.lake.system:
        targets.append(("ingest_log", settings.system_table("ingest_log")))
    return targets


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    from lakeprep.lake.verify import verify_table

    if bool(args.table) == bool(args.all):
        raise UsageError("verify: name one TABLE or pass --all")
    damaged = 0
    for name, location in _lake_tables(settings, args.table):
        summary = verify_table(location, settings.lake.storage_options)
        if not summary.versions:
            continue
        for finding in summary.findings or []:
            damaged += 1
            err.print(f"[bold red]damaged[/] {name}: {finding.line()}", highlight=False)
        if not summary.findings:
            out.print(f"ok {name}: {summary.versions} version(s), {summary.files} file(s), "
                      f"{summary.rows:,} row(s)", highlight=False)
    return 4 if damaged else 0


def cmd_vacuum(args: argparse.Namespace, settings: Settings) -> int:
    import uuid

    from lakeprep.lake.lease import hold
    from lakeprep.lake.sweep import sweep_table
    from lakeprep.lake.verify import has_log

    run_id = f"vacuum-{uuid.uuid4().hex[:8]}"
    total = 0
    for name, location in _lake_tables(settings, args.table):
        if not has_log(location, settings.lake.storage_options):
            continue
        with hold(location, run_id, "vacuum"):
            removed = sweep_table(location, settings.lake.storage_options)
        total += len(removed)
        if removed:
            out.print(f"{name}: removed {len(removed)} uncommitted data file(s)",
                      highlight=False)
    from lakeprep.lineage.dangling import close_dangling_runs

    closed = close_dangling_runs(settings)
    out.print(f"vacuum: {total} uncommitted data file(s) removed, {closed} dangling lineage "
              f"run(s) closed with ABORT", highlight=False)
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "reproduce": cmd_reproduce,
    "lineage": cmd_lineage,
    "quality": cmd_quality,
    "run": cmd_run,
    "generate-sample": cmd_generate_sample,
    "tables": cmd_tables,
    "history": cmd_history,
    "verify": cmd_verify,
    "vacuum": cmd_vacuum,
}

if __name__ == "__main__":
    sys.exit(main())
