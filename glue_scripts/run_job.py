"""AWS Glue 5.x entrypoint: run one lakeprep job inside Glue's own Spark session.

Glue job parameters (the project wheel comes in through --additional-python-modules):

    --additional-python-modules  s3://my-bucket/artifacts/lakeprep-0.1.0-py3-none-any.whl
    --datalake-formats           delta
    --LAKEPREP_JOB               ingest | build-features | transform | export
    --LAKEPREP_ENV               glue
    --LAKEPREP_CONF_DIR          (optional) a conf folder shipped with --extra-files
    --LAKEPREP_BUCKET            my-bucket   (read by conf/glue/lakeprep.yaml)
"""

from __future__ import annotations

import os
import sys


def main() -> int:
    from awsglue.context import GlueContext  # provided by the Glue runtime
    from awsglue.utils import getResolvedOptions
    from pyspark.context import SparkContext

    args = getResolvedOptions(sys.argv, ["LAKEPREP_JOB", "LAKEPREP_ENV", "LAKEPREP_BUCKET"])
    os.environ.setdefault("LAKEPREP_BUCKET", args["LAKEPREP_BUCKET"])
    glue = GlueContext(SparkContext.getOrCreate())
    glue.spark_session  # noqa: B018 - makes it the active session that lakeprep reuses

    from jobs.cli import main as lakeprep

    if "--LAKEPREP_CONF_DIR" in sys.argv:
        args.update(getResolvedOptions(sys.argv, ["LAKEPREP_CONF_DIR"]))
    return lakeprep(cli_arguments(args))


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
