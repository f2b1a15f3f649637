"""The commands about configuration and quality: ``validate``, ``ops``, ``quality``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from jobs.cli.output import err, out
from lakeprep.config import Settings
from lakeprep.errors import UsageError


def cmd_quality(args: argparse.Namespace, settings: Settings) -> int:
    from jobs import gates
    from lakeprep.runtime import JobContext

    ctx = JobContext.start(settings, f"quality-{args.quality_command}")
    if args.quality_command == "docs":
        from lakeprep.report.record import report_links

        index = gates.publish_docs(ctx, reports=report_links(settings, ctx.spark))
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


def cmd_ops(args: argparse.Namespace, settings: Settings) -> int:
    from features.reference import render_op_markdown, render_ops_markdown

    text = render_op_markdown(args.op) if args.op else render_ops_markdown()
    if out.json:
        out.document({"op": args.op, "markdown": text})
    else:
        sys.stdout.write(text)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    import os

    from jobs.validate import validate
    from lakeprep.aws.confsource import conf_folder

    with conf_folder(args.conf_dir or os.environ.get("LAKEPREP_CONF_DIR")) as (folder, shown):
        problems, summary = validate(args.env, folder, shown_as=shown)
    for problem in problems:
        if out.json:
            out.line(str(problem), essential=True, file=problem.file, key=problem.key,
                     problem=problem.message)
        else:
            err.print("error:", str(problem))
    out.line(summary, essential=True, problems=len(problems))
    return 2 if problems else 0


