"""AWS Glue 5.x entrypoint: run one lakeprep job inside Glue's own Spark session.

Glue job parameters (``lakeprep deploy glue JOB`` sets them; the project wheel, which carries the
default conf, comes in through --additional-python-modules):

    --additional-python-modules  s3://my-bucket/lakeprep/artifacts/0.1.0/lakeprep-0.1.0-py3-none-any.whl
    --datalake-formats           delta
    --LAKEPREP_JOB               ingest | build-features | transform | export
    --LAKEPREP_ENV               glue
    --LAKEPREP_CONF_DIR          (optional) a conf folder or conf .zip, local or s3://
    --LAKEPREP_<NAME> value      any other: set as the environment variable LAKEPREP_<NAME>
                                 (LAKEPREP_BUCKET, LAKEPREP_PII_SALT_SECRET, ...), which conf reads
"""

from __future__ import annotations

import os
import sys


def main() -> int:
    from awsglue.context import GlueContext  # provided by the Glue runtime
    from awsglue.utils import getResolvedOptions
    from pyspark.context import SparkContext

    args = getResolvedOptions(sys.argv, ["LAKEPREP_JOB", "LAKEPREP_ENV"])
    variables = lakeprep_variables(sys.argv)
    for name, value in variables.items():
        os.environ.setdefault(name, value)
    glue = GlueContext(SparkContext.getOrCreate())
    glue.spark_session  # noqa: B018 - makes it the active session that lakeprep reuses

    from jobs.cli import main as lakeprep

    return lakeprep(cli_arguments({**variables, **args}))


def lakeprep_variables(argv: list[str]) -> dict[str, str]:
    """Every ``--LAKEPREP_<NAME> value`` pair of the Glue job's arguments."""
    out = {}
    for i, arg in enumerate(argv[:-1]):
        if arg.startswith("--LAKEPREP_"):
            out[arg[2:]] = argv[i + 1]
    return out


def cli_arguments(args: dict[str, str]) -> list[str]:
    """The ``lakeprep`` command line for the Glue job's resolved ``--LAKEPREP_*`` parameters."""
    argv = ["run", args["LAKEPREP_JOB"], "--env", args["LAKEPREP_ENV"]]
    if args.get("LAKEPREP_CONF_DIR"):
        argv += ["--conf-dir", args["LAKEPREP_CONF_DIR"]]
    return argv


if __name__ == "__main__":
    code = main()
    if code:
        raise SystemExit(code)  # a non-zero exit marks the Glue job run FAILED
