"""The AWS commands: ``package``, ``deploy``, ``catalog register``, ``iam-policy``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from jobs.cli.output import out
from lakeprep.config import Settings


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


