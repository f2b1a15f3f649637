"""The AWS commands: ``package``, ``deploy``, ``catalog register``, ``iam-policy``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from jobs.cli.output import err, out
from lakeprep.config import Settings
from lakeprep.errors import UsageError


def cmd_package(args: argparse.Namespace, settings: Settings) -> int:
    from lakeprep.aws.package import TARGETS, build

    targets = list(TARGETS) if args.target == "all" else [args.target]
    report = build(targets, Path(args.out))
    for line in report.lines():
        out.line(line, essential=True)
    return 0


def cmd_deploy(args: argparse.Namespace, settings: Settings) -> int:
    from lakeprep.aws import deploy, preflight, runs

    if args.target == "inference-pipeline":
        if args.job_options:
            raise UsageError("deploy inference-pipeline takes no job options after `--`")
        return _deploy_inference_pipeline(args, settings)
    if args.job is None:
        raise UsageError(f"deploy {args.target} needs the job to run")

    options = job_options(args.job, args.job_options)
    plan = deploy.plan(args.target, args.job, settings, Path(args.dist), options)
    if args.dry_run:
        out.document(json.loads(deploy.dumps(plan)))
        return 0
    preflight.check(plan, settings)
    submitted = deploy.execute(plan)
    out.line(f"{args.target}: {submitted.describe()}", essential=True, **submitted.ids)
    if not args.wait:
        return 0
    region = settings.deploy.region

    def show_logs(lines: list[str]) -> None:
        for line in lines:
            err.print("  |", line, style="dim")

    try:
        runs.wait(submitted, lambda state: out.line(f"{args.target} run: {state}", state=state),
                  region, interval=settings.deploy.poll_seconds, on_failed_logs=show_logs)
    finally:
        logs = runs.driver_logs(submitted, region)
        out.line(f"driver logs: {logs.where if logs else 'none kept (the cluster has no LogUri)'}",
                 essential=True, logs=logs.where if logs else None)
    return 0


def job_options(job: str, options: list[str]) -> list[str]:
    """The job's own options after ``--``, checked by the parser the job will run with."""
    import contextlib
    import io

    from jobs.cli.parser import build_parser
    from lakeprep.aws.deploy import REPRODUCE, cli_argv

    taken = sorted({o.split("=")[0] for o in options} & {"--env", "--conf-dir"})
    if taken:
        raise UsageError(f"deploy {job} -- {' '.join(options)}: {taken[0]} is set by deploy "
                         f"(--env and the conf it uploads); give it before `--`")
    argv = cli_argv(job, "glue", options)
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            build_parser().parse_args(argv)
    except SystemExit:
        reason = (stderr.getvalue().strip().splitlines() or ["invalid"])[-1]
        what = "an export folder (or its manifest.json)" if job == REPRODUCE else "options"
        raise UsageError(f"deploy {job} -- {' '.join(options)}: not valid job {what}: "
                         f"{reason.split(': error: ')[-1]}") from None
    return options


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
    from lakeprep.aws.iam import deployer_policy, policies

    out.document(deployer_policy(settings) if args.policy_for == "deployer" else
                 policies(settings))
    return 0


def _deploy_inference_pipeline(args: argparse.Namespace, settings: Settings) -> int:
    from lakeprep.aws import inference_pipeline as ip

    needed = {"--set": args.feature_set, "--model-data": args.model_data,
              "--estimator-image": args.estimator_image,
              "--features-image": args.features_image, "--role": args.role}
    lacking = [k for k, v in needed.items() if not v]
    if lacking:
        raise UsageError(f"deploy inference-pipeline needs {', '.join(lacking)}")
    fs = settings.feature_sets(args.feature_set)[args.feature_set]
    folder = args.model or _newest_run(settings.models_root(fs))
    if not settings.deploy.bucket:
        raise UsageError(f"{settings.where('deploy', 'bucket')}: deploy.bucket is not set; the "
                         f"packed pipeline is uploaded there")
    plan = ip.plan_pipeline(ip.PipelineRequest(
        feature_set=args.feature_set, pipeline_dir=folder, model_data=args.model_data,
        estimator_image=args.estimator_image, features_image=args.features_image,
        role_arn=args.role, instance_type=args.instance_type,
        upload_to=f"s3://{settings.deploy.bucket}/{settings.deploy.prefix}/inference",
        batch_input=args.batch_input, batch_output=args.batch_output, tags=settings.deploy.tags))
    if args.dry_run:
        out.document(json.loads(ip.dumps(plan)))
        return 0
    for line in ip.execute(plan, settings.deploy.region):
        out.line(line, essential=True)
    return 0


def _newest_run(root: str) -> str:
    if "://" in root:
        raise UsageError(f"the models folder {root} is remote: give the pipeline folder with "
                         f"--model (a local copy)")
    runs = sorted(Path(root).glob("*/metadata"), key=lambda p: p.stat().st_mtime)
    if not runs:
        raise UsageError(f"no saved pipeline under {root}: run build-features first or give "
                         f"--model")
    return str(runs[-1].parent)
