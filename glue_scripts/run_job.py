"""AWS Glue 5.x entrypoint: run one lakeprep job in the Spark session Glue starts.

Glue job parameters (``lakeprep deploy glue JOB`` sets them; the project wheel comes in through
--additional-python-modules, the conf as a bundle on S3):

    --additional-python-modules  s3://my-bucket/lakeprep/artifacts/<sha256>/lakeprep-0.1.0-py3-none-any.whl
    --datalake-formats           delta
    --LAKEPREP_JOB               ingest | build-features | transform | export | reproduce
    --LAKEPREP_ENV               glue
    --LAKEPREP_ARGS              (optional, per run) the job's own options, a JSON list
    --LAKEPREP_<NAME> value      any other: set as the environment variable LAKEPREP_<NAME>
                                 (LAKEPREP_BUCKET, LAKEPREP_CONF_DIR, LAKEPREP_PII_SALT_SECRET...)

The script reads its parameters from ``sys.argv`` itself (Glue passes every job parameter there
as ``--NAME value``, with ``--JOB_NAME``, ``--JOB_RUN_ID`` and its own among them) and needs
nothing of ``awsglue``: lakeprep takes the session Glue configured (``getOrCreate``), so the
same script runs unchanged outside Glue.
"""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str]) -> int:
    params = lakeprep_parameters(argv)
    for name in ("LAKEPREP_JOB", "LAKEPREP_ENV"):
        if name not in params:
            raise SystemExit(f"run_job.py: the Glue job parameter --{name} is missing")
    for name, value in params.items():
        if name not in ("LAKEPREP_JOB", "LAKEPREP_ENV", "LAKEPREP_ARGS"):
            os.environ[name] = value

    from jobs.cli import main as lakeprep

    return lakeprep(cli_arguments(params))


def lakeprep_parameters(argv: list[str]) -> dict[str, str]:
    """Every ``--LAKEPREP_<NAME> value`` pair of the Glue job's arguments (the last wins, as
    a run's Arguments come after the job's DefaultArguments)."""
    out = {}
    for i, arg in enumerate(argv[:-1]):
        if arg.startswith("--LAKEPREP_"):
            out[arg[2:]] = argv[i + 1]
    return out


def cli_arguments(params: dict[str, str]) -> list[str]:
    """The ``lakeprep`` command line for the Glue job's ``--LAKEPREP_*`` parameters."""
    from lakeprep.aws.deploy import cli_argv  # the wheel's: what the other targets run

    options = json.loads(params.get("LAKEPREP_ARGS") or "[]")
    return cli_argv(params["LAKEPREP_JOB"], params["LAKEPREP_ENV"], options)


if __name__ == "__main__":
    code = main(sys.argv[1:])
    if code:
        raise SystemExit(code)  # a non-zero exit marks the Glue job run FAILED
