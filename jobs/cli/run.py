"""The commands that run jobs: ``run``, ``demo``, ``report``, ``reproduce``, ``generate-sample``."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jobs.cli.display import DemoDisplay, print_gates, show_ingest, show_lines, show_summary
from jobs.cli.output import err, out
from lakeprep.config import Settings
from lakeprep.errors import UsageError
from lakeprep.uris import is_remote


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
        print_gates(ctx)


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


def _ingest() -> tuple[Any, Callable[[Any], int]]:
    from jobs import ingest

    return ingest.run, show_ingest


def _build_features() -> tuple[Any, Callable[[Any], int]]:
    from jobs import build_features

    return build_features.run, show_lines


def _transform() -> tuple[Any, Callable[[Any], int]]:
    from jobs import transform

    return transform.run, show_lines


def _export() -> tuple[Any, Callable[[Any], int]]:
    from jobs import export_training

    return export_training.run, show_lines


# the job's function (imported when it runs: Spark and its libraries load only then) and how
# its report is shown
RUNNERS: dict[str, Callable[[], tuple[Any, Callable[[Any], int]]]] = {
    "ingest": _ingest,
    "build-features": _build_features,
    "transform": _transform,
    "export": _export,
}


def cmd_generate_sample(args: argparse.Namespace, settings: Settings) -> int:
    from lakeprep.sample import TAXI_DIR
    from lakeprep.sample.generate import generate
    from lakeprep.sample.taxi import copy_taxi_samples
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
    taxi = Path(args.taxi_dir) if args.taxi_dir else TAXI_DIR
    if not taxi.is_dir():
        raise UsageError(f"--taxi-dir {taxi}: no such folder")
    written = copy_taxi_samples(spark, target, taxi)
    out.line(f"wrote {len(written)} NYC taxi sample file(s) from {taxi} under "
             f"{written[0].rsplit('/', 1)[0] if written else target} (the last in the TLC's own "
             f"header names, derived from the March sample)", files=written)
    return 0


def cmd_reproduce(args: argparse.Namespace, settings: Settings) -> int:
    from jobs.reproduce import reproduce

    report = reproduce(settings, args.manifest, into=args.into, keep=args.keep)
    for line in report.lines():
        out.line(line, essential=True)
    if report.identical:
        return 0
    # the run's own words where a service shows them (deploy --wait's state details)
    err.print("error:", f"reproduce {report.export_run_id}: {report.lines()[-1]}")
    return 1


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from jobs.demo import run_demo
    from lakeprep.report.stages import StageFailed
    from lakeprep.spark import session_for

    spark = session_for(settings)
    display = DemoDisplay(out, spark)
    if display.live and not args.verbose:
        _info_logs_to_file(settings)
    try:
        rec = run_demo(settings, customers=args.customers, seed=args.seed, listener=display,
                       spark=spark)
    except StageFailed as e:
        display.close()
        err.print(f"demo failed at stage {e.stage}:", str(e.cause))
        return e.exit_code
    display.close()
    show_summary(rec)
    out.line(f"run report: {rec.report_path}", essential=True, report=rec.report_path)
    out.line(f"Data Docs: {rec.data_docs}", data_docs=rec.data_docs)
    return 0


def _info_logs_to_file(settings: Settings) -> None:
    """Under the live progress display, keep the console for warnings and errors; the INFO
    lines go to ``<lake>/_lakeprep/logs/lakeprep-<time>.log`` beside Spark's log."""
    from datetime import UTC, datetime

    system = settings.lake.system
    if not system or is_remote(system):
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


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from jobs import report
    from lakeprep.report.record import load_record, save_record
    from lakeprep.runtime import JobContext, session_for

    spark = session_for(settings)
    rec = load_record(settings, spark, args.run_id)
    ctx = JobContext.start(settings, "report", spark=spark, run_id=rec.run_id)
    rec.report_path = report.build(ctx, rec)
    save_record(settings, spark, rec)
    out.line(f"run report: {rec.report_path}", essential=True, report=rec.report_path)
    return 0


