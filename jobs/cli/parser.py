"""The ``lakeprep`` command line's arguments: one sub-command per action, the options every
command shares (``--env``, ``--conf-dir``, ``--quiet``, ``--output json``), and the job options
(``--table``, ``--set``, ``--cutoff``, ``--version``...) that ``deploy`` passes on unchanged."""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from lakeprep.config import ENVIRONMENTS

JOBS: dict[str, str] = {
    "ingest": "raw files -> bronze Delta tables (incremental, deduplicated, quarantined)",
    "build-features": "bronze -> each feature set's rows -> fitted pipeline -> feature table",
    "transform": "apply the saved pipeline to a new snapshot (batch inference preprocessing)",
    "export": "feature table -> SageMaker train/validation/test channels + manifest.json",
}

# what `deploy` submits: the jobs of `run`, and `reproduce` (given an export folder after `--`)
DEPLOYABLE = {**JOBS, "reproduce": "rebuild an export from its manifest and compare it"}


def split_job_options(argv: list[str]) -> tuple[list[str], list[str]]:
    """``deploy``'s own arguments and the job's options after the first ``--``.

    >>> split_job_options(["deploy", "glue", "export", "--", "--version", "3"])
    (['deploy', 'glue', 'export'], ['--version', '3'])
    """
    if argv[:1] == ["deploy"] and "--" in argv:
        cut = argv.index("--")
        return argv[:cut], argv[cut + 1:]
    return argv, []


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
                     help="snapshot date (build-features: default the set's conf cutoff; "
                     "transform: default the day after the latest date of the set's data)")
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

    hist = sub.add_parser("history", parents=[common], help="a table's versions and metadata, and "
                          "why its quarantined rows were set aside (grouped)")
    hist.add_argument("table")
    hist.add_argument("--limit", type=int, default=20)

    srv = sub.add_parser("serve", parents=[common], help="serve a fitted pipeline without "
                         "Spark: a SageMaker inference container (GET /ping, POST /invocations)")
    # its arguments need no web server: falcon and gunicorn (the `inference` extra) are
    # imported only to serve, so every command parses on a cluster's Python
    from lakeprep.inference.__main__ import add_serve_arguments

    add_serve_arguments(srv)

    # AWS: package, deploy, catalog (lakeprep.aws does the work)
    pkg = sub.add_parser("package", parents=[common], help="build the wheel (with conf), entry "
                         "scripts and the EMR Serverless venv archive")
    pkg.add_argument("--target", choices=["glue", "emr", "emr-serverless", "all"], default="all")
    pkg.add_argument("--out", default="dist", help="output folder (default dist/)")
    dep = sub.add_parser("deploy", parents=[common], help="upload the artefacts and run a job "
                         "on Glue, EMR or EMR Serverless, or the inference pipeline on SageMaker",
                         usage="lakeprep deploy TARGET [JOB] [options] [-- JOB OPTIONS]",
                         epilog="Everything after `--` goes to the job as its own options, "
                         "e.g. `lakeprep deploy glue build-features -- --set taxi_tips "
                         "--cutoff 2019-05-01`; reproduce takes the export folder there.")
    dep.add_argument("target",
                     choices=["glue", "emr", "emr-serverless", "inference-pipeline"])
    dep.add_argument("job", choices=sorted(DEPLOYABLE), nargs="?",
                     help="the job to run (glue, emr, emr-serverless)")
    inf = dep.add_argument_group("inference-pipeline: the features' container, then the "
                                 "estimator's, as one SageMaker Model")
    inf.add_argument("--set", dest="feature_set", help="the feature set whose pipeline serves")
    inf.add_argument("--model", help="its saved pipeline folder (default: the newest run under "
                                     "the set's models folder)")
    inf.add_argument("--model-data", help="the estimator's model.tar.gz (s3://)")
    inf.add_argument("--estimator-image", help="the estimator's inference image URI")
    inf.add_argument("--features-image", help="lakeprep's serving image URI (Dockerfile)")
    inf.add_argument("--role", help="the SageMaker execution role ARN")
    inf.add_argument("--instance-type", default="ml.m5.large")
    inf.add_argument("--batch-input", help="s3:// input: a batch transform job, no endpoint")
    inf.add_argument("--batch-output", help="s3:// output of the batch transform job")
    dep.add_argument("--dist", default="dist", help="where `lakeprep package` put the artefacts")
    dep.add_argument("--wait", action="store_true", help="follow the run until it ends")
    dep.add_argument("--dry-run", action="store_true", help="print the requests, send none")
    cat = sub.add_parser("catalog", help="the Glue Data Catalog")
    csub = cat.add_subparsers(dest="catalog_command", required=True, metavar="ACTION")
    reg = csub.add_parser("register", parents=[common], help="register every lake table")
    reg.add_argument("--dry-run", action="store_true", help="print the requests, send none")
    iam = sub.add_parser("iam-policy", parents=[common], help="least-privilege IAM policies: "
                         "the roles that run the jobs (Glue, EMR, EMR Serverless), or the "
                         "person who deploys them")
    iam.add_argument("--for", dest="policy_for", choices=["jobs", "deployer"], default="jobs",
                     help="jobs (default): the three job roles with their trust; deployer: "
                     "what `lakeprep deploy` and `catalog register` call")
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

