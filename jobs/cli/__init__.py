"""The ``lakeprep`` command line, the one entry point: ``lakeprep ...``, ``python -m jobs.cli``,
``spark-submit jobs/cli/__main__.py ...``, EMR steps, EMR Serverless job runs and the Glue script
all go through :func:`main`.

Exit codes: 0 ok, 2 usage or config error, 3 input error, 4 lake table error, 5 quality gate
failed, 1 anything else lakeprep raised on purpose. Every command takes ``--quiet`` (warnings,
errors and the essential result only) and ``--output json`` (stdout is JSON lines: one object
per table row or message).

Modules: ``parser`` (the arguments), ``output`` (stdout and stderr), ``display`` (how results
are drawn), and the commands by subject: ``run`` (jobs, demo, report, reproduce, samples),
``lake`` (tables, history, lineage, verify, vacuum), ``conf`` (validate, ops, quality), ``aws``
(package, deploy, catalog, iam-policy). Only ``jobs/`` imports this package.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Sequence

from rich.logging import RichHandler

from jobs.cli import aws, conf, lake, run
from jobs.cli.output import StderrHandler, err, out
from jobs.cli.parser import JOBS, build_parser, split_job_options
from lakeprep.aws.confsource import load_settings
from lakeprep.config import Settings
from lakeprep.errors import LakeprepError, UsageError

__all__ = ["JOBS", "build_parser", "main"]

COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "iam-policy": aws.cmd_iam_policy,
    "package": aws.cmd_package,
    "deploy": aws.cmd_deploy,
    "catalog": aws.cmd_catalog,
    "demo": run.cmd_demo,
    "report": run.cmd_report,
    "reproduce": run.cmd_reproduce,
    "run": run.cmd_run,
    "generate-sample": run.cmd_generate_sample,
    "lineage": lake.cmd_lineage,
    "tables": lake.cmd_tables,
    "history": lake.cmd_history,
    "verify": lake.cmd_verify,
    "vacuum": lake.cmd_vacuum,
    "quality": conf.cmd_quality,
    "ops": conf.cmd_ops,
}


def main(argv: Sequence[str] | None = None) -> int:
    import sys

    own, job_options = split_job_options(list(sys.argv[1:] if argv is None else argv))
    args = build_parser().parse_args(own)
    args.job_options = job_options
    out.configure(getattr(args, "output", "text"), getattr(args, "quiet", False))
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
    log_handler: logging.Handler = (RichHandler(console=err.console, show_path=False)
                                    if err.console.is_terminal else StderrHandler())
    if not err.console.is_terminal:
        log_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: "
                                                   "%(message)s"))
    root = logging.getLogger()  # main() puts the caller's handlers back (not closed) on return
    root.handlers[:] = [log_handler]
    root.setLevel(level)
    for noisy in ("py4j", "great_expectations", "urllib3", "botocore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        if args.command == "validate":  # it reports the conf's problems: it cannot load it first
            return conf.cmd_validate(args)
        if args.command == "serve":  # a model folder is all it needs: no conf, no Spark
            try:
                from lakeprep.inference.serve import serve
            except ImportError as e:  # falcon and gunicorn are the `inference` extra
                raise UsageError(f"lakeprep serve needs the inference extra: pip install "
                                 f"'lakeprep[inference]' ({e})") from None

            serve(args.model_dir, args.port, args.host, args.workers, args.output_column)
            return 0
        settings = load_settings(args.env, args.conf_dir)
        _spark_log_to_file(settings)
        return COMMANDS[args.command](args, settings)
    except LakeprepError as e:
        err.print("error:", str(e))
        return e.exit_code
    except ModuleNotFoundError as e:
        if not _spark_missing(e):
            raise
        # a core install (a cluster's Python brings its own Spark): the command needs it here
        err.print("error:", f"lakeprep {args.command} needs Spark, which is not installed: "
                            f"pip install 'lakeprep[spark]' ({e})")
        return UsageError.exit_code
    except KeyboardInterrupt:
        err.print("interrupted", "")
        return 130


def _spark_log_to_file(settings: Settings) -> None:
    """Keep the log of the Spark session this process may start out of the user's view
    (:func:`lakeprep.spark.log_under_lake`); nothing to do when Spark is not installed."""
    try:
        from lakeprep.spark import log_under_lake
    except ModuleNotFoundError as e:
        if _spark_missing(e):  # no Spark installed, so no session to log: the command may
            return  # need none (package, deploy, iam-policy); one that does says so
        raise
    log_under_lake(settings)


def _spark_missing(e: ModuleNotFoundError) -> bool:
    """True when ``e`` is Spark's absence (pyspark, delta-spark or py4j: the `spark` extra)."""
    return (e.name or "").split(".")[0] in ("pyspark", "delta", "py4j")
