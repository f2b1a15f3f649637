"""The ``lakeprep`` command line. Exit codes: 0 ok, 2 usage or config error, 3 input error,
4 lake table error, 5 quality gate failed, 1 anything else lakeprep raised on purpose.

Every command takes ``--quiet`` (warnings, errors and the essential result only) and
``--output json`` (stdout is JSON lines: one object per table row or message). When stdout is
not a terminal (CI, CloudWatch, a log file, ``| cat``), tables print at their full width and log
lines are plain text, so nothing is wrapped or cut.
"""

from __future__ import annotations

import argparse
import json
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

log = logging.getLogger("lakeprep")
# rich wraps at 80 columns when it is not writing to a terminal; a log has no width to respect
LOG_WIDTH = 100_000


def _console(stderr: bool = False) -> Console:
    probe = Console(stderr=stderr)
    return probe if probe.is_terminal else Console(stderr=stderr, width=LOG_WIDTH,
                                                   soft_wrap=True)


class Output:
    """What a command shows on stdout: text (rich; full width when piped) or JSON lines, with
    ``quiet`` keeping only the lines marked essential (the result a script needs)."""

    def __init__(self, mode: str = "text", quiet: bool = False):
        self.mode, self.quiet = mode, quiet
        self.console = _console()

    @property
    def json(self) -> bool:
        return self.mode == "json"

    def line(self, text: str, essential: bool = False, style: str | None = None,
             **data: Any) -> None:
        """A message; in JSON mode ``{"message": text, **data}``."""
        if self.quiet and not essential:
            return
        if self.json:
            self._json({"message": text, **data})
        else:
            self.console.print(text, style=style, highlight=False, markup=False,
                               soft_wrap=True)

    def table(self, title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]],
              essential: bool = True, kind: str | None = None) -> None:
        """A table; in JSON mode one object per row, ``{"table": kind or title, col: value}``."""
        if self.quiet and not essential:
            return
        if self.json:
            for row in rows:
                self._json({"table": kind or title, **dict(zip(headers, row, strict=True))})
            return
        t = Table(*headers, title=title or None, title_justify="left")
        for row in rows:
            t.add_row(*["" if v is None else f"{v:,}" if isinstance(v, int) and not
                        isinstance(v, bool) else str(v) for v in row])
        self.console.print(t)

    def show(self, renderable: Any, data: Any, essential: bool = True) -> None:
        """A rich renderable (tree, table) in text mode, ``data`` as one JSON line otherwise."""
        if self.quiet and not essential:
            return
        if self.json:
            self._json(data)
        else:
            self.console.print(renderable)

    def document(self, obj: Any) -> None:
        """A JSON document (a dry-run's requests, IAM policies): indented text, or one line."""
        if self.json:
            self._json(obj)
        else:
            sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")
            sys.stdout.flush()

    def _json(self, obj: Any) -> None:
        sys.stdout.write(json.dumps(obj, default=str) + "\n")
        sys.stdout.flush()


out = Output()
err = _console(stderr=True)

JOBS: dict[str, str] = {
    "ingest": "raw files -> bronze Delta tables (incremental, deduplicated, quarantined)",
    "build-features": "bronze -> each feature set's rows -> fitted pipeline -> feature table",
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
    common.add_argument("-q", "--quiet", action="store_true",
                        help="only warnings, errors and the essential result")
    common.add_argument("--output", choices=("text", "json"), default="text",
                        help="text (default) or json: one JSON object per line on stdout")

    p = argparse.ArgumentParser(prog="lakeprep", description="Spark data prep and feature "
                                "engineering for ML on AWS.")
    p.add_argument("--version", action=_VersionAction, help="print the version and exit")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", parents=[common], help="run a job",
                         description="Run a job. Jobs: " + "; ".join(
                             f"{k}: {v}" for k, v in JOBS.items()))
    run.add_argument("job", choices=sorted(JOBS))
    run.add_argument("--table", action="append", dest="tables", metavar="NAME",
                     help="only this table (repeatable); default: all the job's tables")
    run.add_argument("--replay-quarantine", metavar="TABLE", help="ingest: re-parse TABLE's "
                     "quarantined records under the current conf; promote those that now pass")
    run.add_argument("--file", metavar="F", help="with --replay-quarantine: only the records "
                     "quarantined from this raw file")
    run.add_argument("--cutoff", type=_iso_date, metavar="YYYY-MM-DD",
                     help="snapshot date (build-features, transform)")
    run.add_argument("--model", help="pipeline model path (transform; default: the one the "
                     "feature table's latest version records)")
    run.add_argument("--version", type=int, help="feature table version to export "
                     "(export; default: latest)")
    run.add_argument("--set", dest="feature_set", metavar="NAME",
                     help="only this feature set (build-features, transform, export; default: "
                     "every set, and export.source_table for export)")

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
                     "(default: the samples shipped with lakeprep)")

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

    ops = sub.add_parser("ops", parents=[common], help="the feature spec's ops: params, columns "
                         "written, null/NaN/unseen behaviour (docs/ops.md)")
    ops.add_argument("op", nargs="?", help="only this op")
    sub.add_parser("validate", parents=[common], help="check every conf file, the catalog, the "
                   "quality suites and the feature spec without starting Spark; exit 2 if any "
                   "problem")

    tables = sub.add_parser("tables", parents=[common], help="list the catalog's tables")
    tables.add_argument("--layer", help="only this layer")

    hist = sub.add_parser("history", parents=[common], help="a table's versions and metadata")
    hist.add_argument("table")
    hist.add_argument("--limit", type=int, default=20)

    # AWS: package, deploy, catalog (lakeprep.aws does the work)
    pkg = sub.add_parser("package", parents=[common], help="build the wheel (with conf), entry "
                         "scripts and the EMR Serverless venv archive")
    pkg.add_argument("--target", choices=["glue", "emr", "emr-serverless", "all"], default="all")
    pkg.add_argument("--out", default="dist", help="output folder (default dist/)")
    dep = sub.add_parser("deploy", parents=[common], help="upload the artefacts and run a job "
                         "on Glue, EMR or EMR Serverless")
    dep.add_argument("target", choices=["glue", "emr", "emr-serverless"])
    dep.add_argument("job", choices=sorted(JOBS))
    dep.add_argument("--dist", default="dist", help="where `lakeprep package` put the artefacts")
    dep.add_argument("--wait", action="store_true", help="follow the run until it ends")
    dep.add_argument("--dry-run", action="store_true", help="print the requests, send none")
    cat = sub.add_parser("catalog", help="the Glue Data Catalog")
    csub = cat.add_subparsers(dest="catalog_command", required=True, metavar="ACTION")
    reg = csub.add_parser("register", parents=[common], help="register every lake table")
    reg.add_argument("--dry-run", action="store_true", help="print the requests, send none")
    sub.add_parser("iam-policy", parents=[common], help="least-privilege IAM policies of the "
                   "Glue, EMR and EMR Serverless roles")
    demo = sub.add_parser("demo", parents=[common],
                          help="the whole pipeline on sample data, with progress and a report",
                          description="generate sample data -> ingest -> gates -> build "
                          "features -> export -> Data Docs -> run report, in one Spark session")
    demo.add_argument("--customers", type=int, default=500,
                      help="sample size when no sample data is there yet (default 500)")
    demo.add_argument("--seed", type=int, default=42)

    report = sub.add_parser("report", parents=[common],
                            help="(re)build the HTML run report of a run")
    report.add_argument("run_id", metavar="RUN_ID|latest")
    ver = sub.add_parser("verify", parents=[common], help="check tables' Delta logs against "
                         "their files (commits complete, files present, sizes and row counts)")
    ver.add_argument("table", nargs="?", help="a catalog table (default with --all: every "
                     "table, its quarantine table and the ingest log)")
    ver.add_argument("--all", action="store_true", help="every table the lake holds")

    vac = sub.add_parser("vacuum", parents=[common], help="remove what killed runs left: data "
                         "files staged and never committed, saved models no commit names, "
                         "export folders without manifest.json (each under its lease, so never "
                         "what a running job writes), and close their lineage runs")
    vac.add_argument("table", nargs="?", help="only this catalog table (and its quarantine)")
    vac.add_argument("--dry-run", action="store_true", help="list what would go; remove nothing")
    return p


class _VersionAction(argparse.Action):
    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        from lakeprep.version import code_version

        v = code_version()
        git = v.get("git_commit")
        commit = f" (git {git[:12]})" if git else ""
        print(f"lakeprep {v['package']}{commit}")
        parser.exit()


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, found {value!r}") from None


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to ``sys.stderr`` as it is when a record is emitted: a caller that swaps it after
    ``main`` set logging up (a notebook, a test harness) gets the records, never a closed file."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def main(argv: Sequence[str] | None = None) -> int:
    global out
    args = build_parser().parse_args(argv)
    out = Output(getattr(args, "output", "text"), getattr(args, "quiet", False))
    level = (logging.DEBUG if args.verbose else
             logging.WARNING if getattr(args, "quiet", False) else logging.INFO)
    # the command's logging lasts as long as the command: main() called from a notebook or a
    # test leaves the caller's root logger as it found it
    root = logging.getLogger()
    saved = root.level, root.handlers[:]
    try:
        return _main(args, level)
    finally:
        for added in root.handlers:
            if added not in saved[1]:
                added.close()
        root.handlers[:] = saved[1]
        root.setLevel(saved[0])


def _main(args: argparse.Namespace, level: int) -> int:
    log_handler: logging.Handler = (RichHandler(console=err, show_path=False)
                                    if err.is_terminal else _StderrHandler())
    if not err.is_terminal:
        log_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: "
                                                   "%(message)s"))
    root = logging.getLogger()  # main() puts the caller's handlers back (not closed) on return
    root.handlers[:] = [log_handler]
    root.setLevel(level)
    for noisy in ("py4j", "great_expectations", "urllib3", "botocore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        if args.command == "validate":  # it reports the conf's problems: it cannot load it first
            return cmd_validate(args)
        settings = _spark_log_to_file(load_settings(args.env, args.conf_dir))
        handler: Callable[[argparse.Namespace, Settings], int] = COMMANDS[args.command]
        return handler(args, settings)
    except LakeprepError as e:
        err.print(f"[bold red]error:[/] {e}", highlight=False, markup=True, soft_wrap=True)
        return e.exit_code
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130


def _spark_log_to_file(settings: Settings) -> Settings:
    """Send the Spark session's own log (log4j2) to ``<lake>/_lakeprep/logs/spark-<time>.log``
    (a local temp folder when the lake is remote): kept, but out of the user's view. Only for
    a session this process starts (under spark-submit the driver JVM is already running)."""
    import os
    import tempfile
    from datetime import UTC, datetime

    from lakeprep.spark import log_to_file

    if "PYSPARK_GATEWAY_PORT" in os.environ:
        return settings
    system = settings.lake.system
    folder = (Path(tempfile.gettempdir()) / "lakeprep-logs" if not system or "://" in system
              else Path(settings.system_table("logs")))
    path = folder / f"spark-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{os.getpid()}.log"
    log.debug("Spark's log: %s", path)
    conf = log_to_file(settings.spark.conf, path)
    return settings.model_copy(update={"spark": settings.spark.model_copy(
        update={"conf": conf})})


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from lakeprep.runtime import JobContext

    job, show = RUNNERS[args.job]()
    if args.feature_set is not None:
        settings.feature_sets(args.feature_set)  # a set that does not exist: before any run
    if args.job == "ingest" and args.replay_quarantine:
        from jobs.ingest import replay as job
    elif args.replay_quarantine or args.file:
        raise UsageError("--replay-quarantine and --file are options of `run ingest` (--file "
                         "only with --replay-quarantine)")
    ctx = JobContext.start(settings, job.job_name)
    out.line(f"run {ctx.run_id} · env {settings.env} · engine {ctx.engine}", essential=True,
             run_id=ctx.run_id, env=settings.env, engine=ctx.engine)
    try:
        return show(job(ctx, **_job_arguments(args)))
    finally:
        _print_gates(ctx)


def _job_arguments(args: argparse.Namespace) -> dict[str, Any]:
    if args.job == "ingest" and args.replay_quarantine:
        if args.tables:
            raise UsageError("--replay-quarantine names its table; --table does not apply")
        return {"table": args.replay_quarantine, "file": args.file}
    if args.job == "ingest":
        if args.file:
            raise UsageError("--file applies only with --replay-quarantine TABLE")
        return {"tables": args.tables}
    if args.job == "build-features":
        return {"cutoff": args.cutoff, "feature_set": args.feature_set}
    if args.job == "transform":
        return {"cutoff": args.cutoff, "model_path": args.model, "feature_set": args.feature_set}
    return {"version": args.version, "feature_set": args.feature_set}


def _show_ingest(reports: Any) -> int:
    from dataclasses import asdict

    for r in reports:
        ok = r.reconciles or not r.files_new
        out.line(r.line(), essential=True, style="green" if ok else "bold red",
                 **{k: v for k, v in asdict(r).items() if k != "files"}, reconciles=ok)
    return 0 if all(r.reconciles or not r.files_new for r in reports) else 1


def _show_lines(report: Any) -> int:
    for line in report.lines():
        out.line(line, essential=True)
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
    for table, outcome in ctx.gates:
        counts = ", ".join(f"{k} {v:,}" for k, v in outcome.counts.items())
        title = (f"quality gate {table}: {outcome.verdict.value} (policy "
                 f"{outcome.policy.value}{'; ' + counts if counts else ''})")
        rows = []
        for o in outcome.report.outcomes:
            if o.exception:
                observed = f"error: {o.exception}"
            elif o.unexpected_count is not None:
                observed = (f"{o.unexpected_count:,} of {o.element_count or 0:,} "
                            f"({o.unexpected_percent or 0.0:.2f}%)")
            else:
                observed = json.dumps(o.observed_value, default=str)
            rows.append(["ok" if o.success else "X", o.expectation, ", ".join(o.columns),
                         observed, json.dumps(o.sample, default=str) if o.sample else ""])
        out.table(title, ["", "expectation", "column(s)", "observed / unexpected",
                          "sample of failing values"], rows,
                  essential=not outcome.report.success, kind=f"gate {table}")


def cmd_generate_sample(args: argparse.Namespace, settings: Settings) -> int:
    import shutil

    from jobs.generate_sample import generate
    from lakeprep.spark import session_for

    target = args.out or settings.lake.layers.get("raw")
    if not target:
        raise UsageError("--out is required: lake.layers.raw is not set in conf")
    spark = session_for(settings)
    report = generate(spark, target, customers=args.customers,
                      orders_per_customer=args.orders_per_customer,
                      events_per_customer=args.events_per_customer, batches=args.batches,
                      seed=args.seed, overwrite=args.overwrite)
    out.line(report.summary(), essential=True)
    taxi = Path(args.taxi_dir) if args.taxi_dir else _default_taxi_dir()
    if taxi is not None and "://" not in target:
        dest = Path(target) / "nyc_taxi"
        dest.mkdir(parents=True, exist_ok=True)
        copied = [shutil.copy2(f, dest / f.name) for f in sorted(taxi.glob("*.csv"))]
        out.line(f"copied {len(copied)} NYC taxi sample file(s) from {taxi} to {dest}")
        source = taxi / "yellow_tripdata_sample_2019-03.csv"
        if source.exists():
            made = _tlc_header_batch(source, dest / "yellow_tripdata_sample_2019-04.csv")
            out.line(f"wrote {made} in the TLC's own header names (derived from {source.name})")
    elif args.taxi_dir:
        raise UsageError(f"--taxi-dir {args.taxi_dir}: copying into {target} is "
                                    f"only supported for local folders")
    return 0


# The TLC's own header names (its files since 2019), in the order of the samples' columns
TLC_HEADER = ("VendorID,tpep_pickup_datetime,tpep_dropoff_datetime,passenger_count,trip_distance,"
              "RatecodeID,store_and_fwd_flag,PULocationID,DOLocationID,payment_type,fare_amount,"
              "extra,mta_tax,tip_amount,tolls_amount,improvement_surcharge,total_amount,"
              "congestion_surcharge")


def _tlc_header_batch(source: Path, target: Path) -> Path:
    """A fourth taxi batch in the TLC's header generation, derived deterministically from
    ``source`` (the March sample): the same rows under the TLC's header names, their pickup
    and dropoff times 31 days later (so they are new trips, not duplicates); a time that does
    not parse is kept as it is, so the sample's defects stay defects."""
    import csv
    from datetime import datetime, timedelta

    def later(value: str) -> str:
        try:
            t = datetime.strptime(value, "%Y-%m-%d %H:%M:%S") + timedelta(days=31)
        except ValueError:
            return value
        return t.strftime("%Y-%m-%d %H:%M:%S")

    with source.open(newline="") as f_in, target.open("w", newline="") as f_out:
        rows = csv.reader(f_in)
        next(rows)  # the snake_case header: replaced by the TLC's
        f_out.write(TLC_HEADER + "\n")
        writer = csv.writer(f_out, lineterminator="\n")
        for row in rows:
            if len(row) > 2:
                row[1], row[2] = later(row[1]), later(row[2])
            writer.writerow(row)
    return target


def _default_taxi_dir() -> Path | None:
    from lakeprep.sample import TAXI_DIR

    return TAXI_DIR if TAXI_DIR.is_dir() else None


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
    return 0


def cmd_reproduce(args: argparse.Namespace, settings: Settings) -> int:
    from jobs.reproduce import reproduce

    report = reproduce(settings, args.manifest, into=args.into, keep=args.keep)
    for line in report.lines():
        out.line(line, essential=True)
    return 0 if report.identical else 1


def cmd_lineage(args: argparse.Namespace, settings: Settings) -> int:
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
    root = Tree(f"[bold]export[/] {m.run_id} · {m.created_at:%Y-%m-%d %H:%M:%S} UTC · "
                f"{channels} · formats {', '.join(next(iter(m.channels.values())))}")
    graphs = [lineage_graph(ctx, src.name, src.version) for src in m.source_tables]
    for graph in graphs:
        render_tree(graph, root)
    out.show(root, {"kind": "export", "run_id": m.run_id, "created_at": m.created_at,
                    "channels": {c: next(iter(f.values())).rows for c, f in m.channels.items()},
                    "inputs": graphs})
    return 0


def cmd_quality(args: argparse.Namespace, settings: Settings) -> int:
    from jobs import gates
    from lakeprep.runtime import JobContext

    ctx = JobContext.start(settings, f"quality-{args.quality_command}")
    if args.quality_command == "docs":
        from jobs.quality_docs import publish_data_docs
        from jobs.report import report_links

        index = publish_data_docs(gates.results_folder(ctx), gates.docs_folder(ctx),
                                  reports=report_links(settings, ctx.spark))
        out.line(f"Data Docs: {index}", essential=True, data_docs=index)
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
    n = len(suite.get("expectations", []))
    dropped = suite["meta"].get("dropped") or []
    out.line(f"wrote {target} ({n} expectations to review; they pass on the profiled data"
             f"{f'; {len(dropped)} dropped that did not' if dropped else ''})", essential=True,
             suite=str(target), expectations=n, dropped=dropped)
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from jobs.demo import StageFailed, run_demo
    from lakeprep.spark import session_for

    spark = session_for(settings)
    display = _DemoDisplay(out, spark)
    if display.live and not args.verbose:
        _info_logs_to_file(settings)
    try:
        rec = run_demo(settings, customers=args.customers, seed=args.seed, listener=display,
                       spark=spark)
    except StageFailed as e:
        display.close()
        err.print(f"[bold red]demo failed at stage {e.stage}:[/] {e.cause}", highlight=False,
                  soft_wrap=True)
        return e.exit_code
    display.close()
    _show_summary(rec)
    out.line(f"run report: {rec.report_path}", essential=True, report=rec.report_path)
    out.line(f"Data Docs: {rec.data_docs}", data_docs=rec.data_docs)
    return 0


def _info_logs_to_file(settings: Settings) -> None:
    """Under the live progress display, keep the console for warnings and errors; the INFO
    lines go to ``<lake>/_lakeprep/logs/lakeprep-<time>.log`` beside Spark's log."""
    from datetime import UTC, datetime

    system = settings.lake.system
    if not system or "://" in system:
        return
    folder = Path(settings.system_table("logs"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"lakeprep-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.log"
    root = logging.getLogger()
    for handler in root.handlers:
        handler.setLevel(logging.WARNING)
    to_file = logging.FileHandler(path, encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(to_file)
    out.line(f"log: {path}")


def _show_summary(rec: Any) -> None:
    out.table(f"demo {rec.run_id}: stages", ["stage", "seconds", "rows", "job run", "result"],
              [[s.name, f"{s.seconds:.1f}", s.rows, s.run_id or "", "ok" if s.ok else "FAILED"]
               for s in rec.stages], essential=False, kind="stage")
    out.table(f"demo {rec.run_id}: tables",
              ["table", "rows read", "written", "quarantined", "duplicates", "version",
               "rows in table", "rows in quarantine table", "gate"],
              [[t.table, t.rows_read, t.written, t.quarantined, t.duplicates, t.version,
                t.rows_in_table, t.quarantine_rows, t.gate or "-"] for t in rec.tables],
              kind="table")


class _DemoDisplay:
    """The demo's progress: a rich live display per stage (stage, elapsed, Spark jobs, stages
    and tasks from the status tracker) on a terminal; a plain line per stage otherwise."""

    def __init__(self, output: Output, spark: Any):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        from jobs.demo import STAGES

        self.out, self.spark = output, spark
        self.poller: Any = None
        self.live = output.console.is_terminal and not output.quiet and not output.json
        self.progress = Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"),
                                 BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 TextColumn("{task.fields[spark]}"), console=output.console,
                                 transient=False)
        self.overall = self.progress.add_task("pipeline", total=len(STAGES), spark="")
        self.task: Any = None
        if self.live:
            self.progress.start()

    def stage_started(self, name: str, spark: Any) -> None:
        from lakeprep.progress import SparkPoller

        if not self.live:
            self.out.line(f"stage {name} ...", stage=name, event="started")
            return
        self.task = self.progress.add_task(name, total=None, spark="")
        self.poller = SparkPoller(spark, self._spark_update).__enter__()

    def _spark_update(self, status: Any) -> None:
        if self.task is not None:
            self.progress.update(self.task, total=status.tasks_total or None,
                                 completed=status.tasks_done,
                                 spark=status.describe() or f"{status.jobs_finished} Spark "
                                 f"job(s) done")

    def stage_finished(self, result: Any) -> None:
        if self.poller is not None:
            self.poller.__exit__(None, None, None)
            self.poller = None
        rows = f" · {result.rows:,} rows" if result.rows is not None else ""
        mark = "ok" if result.ok else "FAILED"
        if not self.live:
            self.out.line(f"stage {result.name} {mark} in {result.seconds:.1f} s{rows}",
                          stage=result.name, event="finished", ok=result.ok,
                          seconds=result.seconds, rows=result.rows)
            for line in result.lines:
                self.out.line(f"  {line}", stage=result.name)
            return
        self.progress.update(self.task, total=1, completed=1,
                             description=f"{result.name} {mark}{rows}", spark="")
        self.progress.advance(self.overall)
        for line in result.lines:
            self.progress.console.print(f"  {line}", highlight=False, markup=False,
                                        soft_wrap=True)

    def close(self) -> None:
        if self.poller is not None:
            self.poller.__exit__(None, None, None)
        if self.live:
            self.progress.stop()


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from jobs.report import build_report, load_record, save_record
    from lakeprep.runtime import JobContext, session_for

    spark = session_for(settings)
    rec = load_record(settings, spark, args.run_id)
    ctx = JobContext.start(settings, "report", spark=spark, run_id=rec.run_id)
    rec.report_path = build_report(ctx, rec)
    save_record(ctx, rec)
    out.line(f"run report: {rec.report_path}", essential=True, report=rec.report_path)
    return 0


def cmd_package(args: argparse.Namespace, settings: Settings) -> int:
    from lakeprep.aws.package import TARGETS, build

    targets = list(TARGETS) if args.target == "all" else [args.target]
    report = build(targets, Path(args.out))
    for line in report.lines():
        out.line(line, essential=True)
    return 0


def cmd_deploy(args: argparse.Namespace, settings: Settings) -> int:
    from lakeprep.aws import deploy

    plan = deploy.plan(args.target, args.job, settings, Path(args.dist))
    if args.dry_run:
        out.document(json.loads(deploy.dumps(plan)))
        return 0
    submitted = deploy.execute(plan)
    out.line(f"{args.target}: {submitted.describe()}", essential=True)
    if args.wait:
        deploy.wait(submitted, lambda state: out.line(f"{args.target} run: {state}",
                                                      state=state),
                    settings.deploy.region)
    return 0


def cmd_catalog(args: argparse.Namespace, settings: Settings) -> int:
    from lakeprep.aws import glue_catalog

    plan = glue_catalog.plan(settings)
    if args.dry_run:
        out.document(plan.as_json())
        return 0
    for line in glue_catalog.execute(plan):
        out.line(line, essential=True)
    return 0


def cmd_iam_policy(args: argparse.Namespace, settings: Settings) -> int:
    from lakeprep.aws.iam import policies

    out.document(policies(settings))
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


def cmd_ops(args: argparse.Namespace, settings: Settings) -> int:
    from features.reference import render_op_markdown, render_ops_markdown

    text = render_op_markdown(args.op) if args.op else render_ops_markdown()
    if out.json:
        out.document({"op": args.op, "markdown": text})
    else:
        sys.stdout.write(text)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from jobs.validate import validate

    problems, summary = validate(args.env, args.conf_dir)
    for problem in problems:
        if out.json:
            out.line(str(problem), essential=True, file=problem.file, key=problem.key,
                     problem=problem.message)
        else:
            err.print(f"[bold red]error:[/] {escape(str(problem))}", highlight=False,
                      soft_wrap=True)
    out.line(summary, essential=True, problems=len(problems))
    return 2 if problems else 0


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
            out.line(f"ok {name}: {summary.versions} version(s), {summary.files} file(s), "
                     f"{summary.rows:,} row(s)", essential=True, table=name, status="ok",
                     versions=summary.versions, files=summary.files, rows=summary.rows)
    return 4 if damaged else 0


def cmd_vacuum(args: argparse.Namespace, settings: Settings) -> int:
    import uuid

    from lakeprep.errors import LakeTableError
    from lakeprep.lake.lease import hold
    from lakeprep.lake.sweep import sweep_exports, sweep_models, sweep_table
    from lakeprep.lake.verify import has_log
    from lakeprep.lineage.dangling import close_dangling_runs

    run_id = f"vacuum-{uuid.uuid4().hex[:8]}"
    opts, dry = settings.lake.storage_options, args.dry_run
    features = settings.features
    files = models = 0
    for name, location in _lake_tables(settings, args.table):
        if not has_log(location, opts):
            continue
        try:
            with hold(location, run_id, "vacuum"):
                removed = sweep_table(location, opts, dry_run=dry)
                orphans = []
                for fs in features.sets.values() if features is not None else []:
                    if name == fs.table:
                        from jobs.build_features import models_root

                        orphans += sweep_models(models_root(settings, fs), location, opts,
                                                dry_run=dry)
        except LakeTableError as e:  # a job is writing it: its debris, if any, waits
            err.print(f"[yellow]skipped[/] {name}: {e}", highlight=False)
            continue
        files, models = files + len(removed), models + len(orphans)
        for path in [*removed, *orphans] if dry else []:
            out.line(f"{name}: would remove {path}", table=name, path=path)
        if removed or orphans:
            out.line(f"{name}: {'would remove' if dry else 'removed'} "
                     f"{_count(len(removed), 'uncommitted data file')}, "
                     f"{_count(len(orphans), 'orphan model')}", table=name,
                     files=len(removed), models=len(orphans))
    exports = settings.lake.layers.get("exports")
    swept = sweep_exports(exports, depth=2, dry_run=dry) if exports and not args.table else None
    for folder in swept.removed if swept and dry else []:
        out.line(f"exports: would remove {folder}", path=folder)
    for folder in swept.busy if swept else []:
        err.print(f"[yellow]skipped[/] export {folder}: an export is writing it", highlight=False)
    closed = close_dangling_runs(settings, dry_run=dry)
    incomplete = len(swept.removed) if swept else 0
    out.line(f"vacuum{' (dry run)' if dry else ''}: {'would remove' if dry else 'removed'} "
             f"{_count(files, 'uncommitted data file')}, {_count(models, 'orphan model')}, "
             f"{_count(incomplete, 'incomplete export')}, {'would close' if dry else 'closed'} "
             f"{_count(closed, 'dangling run')}", essential=True, dry_run=dry, files=files,
             models=models, exports=incomplete, closed=closed)
    return 0


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "iam-policy": cmd_iam_policy,
    "package": cmd_package,
    "deploy": cmd_deploy,
    "catalog": cmd_catalog,
    "demo": cmd_demo,
    "report": cmd_report,
    "reproduce": cmd_reproduce,
    "lineage": cmd_lineage,
    "quality": cmd_quality,
    "run": cmd_run,
    "generate-sample": cmd_generate_sample,
    "tables": cmd_tables,
    "history": cmd_history,
    "ops": cmd_ops,
    "verify": cmd_verify,
    "vacuum": cmd_vacuum,
}

if __name__ == "__main__":
    sys.exit(main())
