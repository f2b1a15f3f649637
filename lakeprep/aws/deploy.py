"""``lakeprep deploy``: upload the packaged artefacts and submit a job to Glue, EMR or EMR
Serverless with boto3.

A deploy is planned first (`plan`): the uploads and the exact API requests, with every conf
key and artefact checked, so that a missing bucket, role or wheel stops it before anything is
created. ``--dry-run`` prints the plan; `execute` carries it out and `wait` follows the run.

Secrets never appear in a request: a job gets the *name* of the PII salt secret
(``LAKEPREP_PII_SALT_SECRET``, i.e. ``ingest.pii_salt_secret``) and reads its value at run time.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakeprep.aws.clients import client, split_s3
from lakeprep.aws.package import ENTRY, GLUE_SCRIPT, VENV_ARCHIVE, artefacts_for
from lakeprep.config import Settings
from lakeprep.errors import ConfigError, LakeprepError, UsageError

log = logging.getLogger(__name__)

DELTA_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}
# where EMR (on EC2 and Serverless) keeps the Delta jars it ships
EMR_DELTA_JARS = ",".join(f"/usr/share/aws/delta/lib/{jar}.jar"
                          for jar in ("delta-spark", "delta-storage"))
# variables that hold secret values: never copied into a job definition
SECRET_VARIABLES = ("LAKEPREP_PII_SALT",)


class RunFailed(LakeprepError):
    """A submitted run ended in a state other than success."""


@dataclass(frozen=True)
class Request:
    """One boto3 call: ``client(service).<operation>(**params)``."""

    service: str
    operation: str
    params: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"service": self.service, "operation": self.operation, "params": self.params}


@dataclass
class DeployPlan:
    target: str
    job: str
    env: str
    region: str | None
    uploads: list[tuple[Path, str]] = field(default_factory=list)
    upload_args: dict[str, str] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def as_json(self) -> list[dict[str, Any]]:
        """The exact requests, uploads first (what ``--dry-run`` prints)."""
        puts = []
        for local, uri in self.uploads:
            bucket, key = split_s3(uri)
            puts.append({"service": "s3", "operation": "upload_file",
                         "params": {"Filename": str(local), "Bucket": bucket, "Key": key,
                                    **({"ExtraArgs": self.upload_args}
                                       if self.upload_args else {})}})
        return puts + [r.as_json() for r in self.requests]


def cli_argv(job: str, env: str) -> list[str]:
    """The ``lakeprep`` arguments every target passes to the one entry point."""
    return ["run", job, "--env", env]


def plan(target: str, job: str, settings: Settings, dist: Path) -> DeployPlan:
    """The uploads and API requests of deploying ``job`` to ``target``; checks conf and dist."""
    d = settings.deploy
    local = sorted(k for k, v in settings.lake.layers.items() if "://" not in v)
    if local:
        raise UsageError(f"--env {settings.env}: lake.layers.{local[0]} is a local folder "
                         f"({settings.lake.layers[local[0]]}); deploy an environment whose lake "
                         f"is on S3 (glue, emr)")
    bucket = _required(settings, d.bucket, "deploy", "bucket", "LAKEPREP_DEPLOY_BUCKET")
    files = _artefacts(target, dist)
    version = files["wheel"].name.split("-")[1]
    base = f"s3://{bucket}/{d.prefix}/{version}"
    p = DeployPlan(target, job, settings.env, d.region)
    p.uploads = [(path, f"{base}/{path.name}") for path in files.values()]
    if d.kms_key:
        p.upload_args = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": d.kms_key}
    uri = {name: f"{base}/{path.name}" for name, path in files.items()}
    env = job_environment(settings)
    spark_conf = {**DELTA_CONF, **settings.spark.conf}
    if target == "glue":
        p.requests = _glue(settings, job, uri, env, spark_conf)
    elif target == "emr":
        p.requests = _emr(settings, job, uri, env)
    else:
        p.requests = _emr_serverless(settings, job, uri, env, spark_conf)
    return p


def job_environment(settings: Settings) -> dict[str, str]:
    """What a job run gets as environment: ``deploy.job_env`` and the salt secret's name."""
    env = dict(settings.deploy.job_env)
    if settings.ingest.pii_salt_secret:
        env["LAKEPREP_PII_SALT_SECRET"] = settings.ingest.pii_salt_secret
    leaked = sorted(set(env) & set(SECRET_VARIABLES))
    if leaked:
        raise ConfigError(f"{settings.where('deploy', 'job_env')}: deploy.job_env.{leaked[0]}: a "
                          f"secret value never goes into a job definition; name its secret in "
                          f"ingest.pii_salt_secret instead")
    return env


def _required(settings: Settings, value: str | None, *key_and_var: str) -> str:
    *key, var = key_and_var
    if not value:
        raise ConfigError(f"{settings.where(*key)}: {'.'.join(key)} is not set (set it in "
                          f"conf/{settings.env}/deploy.yaml or the variable {var})")
    return value


def _artefacts(target: str, dist: Path) -> dict[str, Path]:
    wheels = sorted(dist.glob("lakeprep-*.whl"))
    if len(wheels) != 1:
        found = "no lakeprep wheel" if not wheels else f"{len(wheels)} wheels"
        raise UsageError(f"{dist}: {found}; run `lakeprep package --target {target} --out "
                         f"{dist}` first")
    files = {"wheel": wheels[0]}
    for name in artefacts_for(target):
        path = dist / name
        if not path.is_file():
            raise UsageError(f"{path}: artefact missing; run `lakeprep package --target "
                             f"{target} --out {dist}` first")
        files[name] = path
    return files


def _glue(settings: Settings, job: str, uri: dict[str, str], env: dict[str, str],
          spark_conf: dict[str, str]) -> list[Request]:
    g = settings.deploy.glue
    role = _required(settings, g.role_arn, "deploy", "glue", "role_arn", "LAKEPREP_GLUE_ROLE_ARN")
    name = f"lakeprep-{job}-{settings.env}"
    # Glue takes one --conf argument: further settings ride in its value as `--conf k=v`
    conf = " --conf ".join(f"{k}={v}" for k, v in spark_conf.items())
    arguments = {
        "--datalake-formats": "delta",
        "--additional-python-modules": uri["wheel"],
        "--conf": conf,
        "--job-bookmark-option": "job-bookmark-enable" if g.bookmarks else "job-bookmark-disable",
        "--enable-glue-datacatalog": "true",
        "--LAKEPREP_JOB": job,
        "--LAKEPREP_ENV": settings.env,
        **{f"--{k}": v for k, v in env.items()},
    }
    definition = {
        "Role": role, "GlueVersion": g.glue_version,
        "Command": {"Name": "glueetl", "ScriptLocation": uri[GLUE_SCRIPT], "PythonVersion": "3"},
        "DefaultArguments": arguments, "WorkerType": g.worker_type,
        "NumberOfWorkers": g.number_of_workers, "Timeout": g.timeout_minutes,
        "MaxRetries": g.max_retries, "Description": f"lakeprep {job} ({settings.env})",
    }
    return [Request("glue", "create_job", {"Name": name, **definition,
                                          "Tags": settings.deploy.tags}),
            Request("glue", "start_job_run", {"JobName": name})]


def _emr(settings: Settings, job: str, uri: dict[str, str], env: dict[str, str]) -> list[Request]:
    e = settings.deploy.emr
    cluster = _required(settings, e.cluster_id, "deploy", "emr", "cluster_id",
                        "LAKEPREP_EMR_CLUSTER_ID")
    conf: list[str] = []
    for k, v in env.items():
        conf += ["--conf", f"spark.yarn.appMasterEnv.{k}={v}", "--conf",
                 f"spark.executorEnv.{k}={v}"]
    args = ["spark-submit", "--deploy-mode", "cluster", *conf, uri[ENTRY],
            *cli_argv(job, settings.env)]
    step = {"Name": f"lakeprep {job} ({settings.env})", "ActionOnFailure": e.action_on_failure,
            "HadoopJarStep": {"Jar": "command-runner.jar", "Args": args}}
    return [Request("emr", "add_job_flow_steps", {"JobFlowId": cluster, "Steps": [step]})]


def _emr_serverless(settings: Settings, job: str, uri: dict[str, str], env: dict[str, str],
                    spark_conf: dict[str, str]) -> list[Request]:
    s = settings.deploy.emr_serverless
    app = _required(settings, s.application_id, "deploy", "emr_serverless", "application_id",
                    "LAKEPREP_EMR_SERVERLESS_APP_ID")
    role = _required(settings, s.execution_role_arn, "deploy", "emr_serverless",
                     "execution_role_arn", "LAKEPREP_EMR_SERVERLESS_ROLE_ARN")
    python = "./environment/bin/python"
    conf = {
        "spark.archives": f"{uri[VENV_ARCHIVE]}#environment",
        "spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON": python,
        "spark.emr-serverless.driverEnv.PYSPARK_PYTHON": python,
        "spark.executorEnv.PYSPARK_PYTHON": python,
        **{f"spark.emr-serverless.driverEnv.{k}": v for k, v in env.items()},
        **{f"spark.executorEnv.{k}": v for k, v in env.items()},
        "spark.jars": EMR_DELTA_JARS,
        "spark.driver.cores": str(s.driver_cores), "spark.driver.memory": s.driver_memory,
        "spark.executor.cores": str(s.executor_cores),
        "spark.executor.memory": s.executor_memory,
        "spark.executor.instances": str(s.executor_instances),
        **spark_conf,
    }
    params = " ".join(f"--conf {k}={v}" for k, v in conf.items())
    return [Request("emr-serverless", "start_job_run", {
        "applicationId": app, "executionRoleArn": role, "name": f"lakeprep {job} ({settings.env})",
        "jobDriver": {"sparkSubmit": {"entryPoint": uri[ENTRY],
                                      "entryPointArguments": cli_argv(job, settings.env),
                                      "sparkSubmitParameters": params}},
        "tags": settings.deploy.tags})]


# execution -----------------------------------------------------------------------------------
@dataclass
class Submitted:
    """What a deploy started: enough to follow the run."""

    target: str
    ids: dict[str, str]

    def describe(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in self.ids.items())


def execute(p: DeployPlan) -> Submitted:
    """Upload the artefacts, then make the plan's requests (a Glue job is updated if it exists)."""
    s3 = client("s3", p.region)
    for local, uri in p.uploads:
        bucket, key = split_s3(uri)
        s3.upload_file(str(local), bucket, key, ExtraArgs=p.upload_args or None)
        log.info("uploaded %s", uri)
    clients: dict[str, Any] = {}
    ids: dict[str, str] = {}
    for r in p.requests:
        api = clients.setdefault(r.service, client(r.service, p.region))
        if r.operation == "create_job" and _glue_job_exists(api, r.params["Name"]):
            update = {k: v for k, v in r.params.items() if k not in ("Name", "Tags")}
            api.update_job(JobName=r.params["Name"], JobUpdate=update)
            log.info("updated Glue job %s", r.params["Name"])
            ids["glue job"] = r.params["Name"]
            continue
        response = getattr(api, r.operation)(**r.params)
        if r.operation == "create_job":
            ids["glue job"] = response["Name"]
        elif r.operation == "start_job_run" and r.service == "glue":
            ids["run"] = response["JobRunId"]
        elif r.operation == "add_job_flow_steps":
            ids["cluster"] = r.params["JobFlowId"]
            ids["step"] = response["StepIds"][0]
        elif r.operation == "start_job_run":
            ids["application"] = response["applicationId"]
            ids["run"] = response["jobRunId"]
    return Submitted(p.target, ids)


def _glue_job_exists(glue: Any, name: str) -> bool:
    try:
        glue.get_job(JobName=name)
        return True
    except glue.exceptions.EntityNotFoundException:
        return False


# (ok states, failed states) of each target's run
_TERMINAL = {
    "glue": ({"SUCCEEDED"}, {"FAILED", "TIMEOUT", "STOPPED", "ERROR"}),
    "emr": ({"COMPLETED"}, {"FAILED", "CANCELLED", "INTERRUPTED"}),
    "emr-serverless": ({"SUCCESS"}, {"FAILED", "CANCELLED"}),
}


def run_state(submitted: Submitted, region: str | None = None) -> tuple[str, str]:
    """The run's current state and its error message (empty when none)."""
    ids = submitted.ids
    if submitted.target == "glue":
        run = client("glue", region).get_job_run(JobName=ids["glue job"], RunId=ids["run"])
        return run["JobRun"]["JobRunState"], run["JobRun"].get("ErrorMessage", "")
    if submitted.target == "emr":
        step = client("emr", region).describe_step(ClusterId=ids["cluster"], StepId=ids["step"])
        status = step["Step"]["Status"]
        details = status.get("FailureDetails") or {}
        return status["State"], details.get("Message") or details.get("Reason") or ""
    run = client("emr-serverless", region).get_job_run(applicationId=ids["application"],
                                                       jobRunId=ids["run"])["jobRun"]
    return run["state"], run.get("stateDetails") or ""


def wait(submitted: Submitted, on_state: Callable[[str], None], region: str | None = None,
         interval: float = 15.0, timeout: float = 24 * 3600) -> str:
    """Poll until the run ends, calling ``on_state`` at each change; a failed run raises."""
    ok, failed = _TERMINAL[submitted.target]
    last, deadline = "", time.monotonic() + timeout
    while True:
        state, message = run_state(submitted, region)
        if state != last:
            on_state(state)
            last = state
        if state in ok:
            return state
        if state in failed:
            raise RunFailed(f"{submitted.target} run {submitted.describe()} ended {state}: "
                            f"{message or 'no error message given'}")
        if time.monotonic() > deadline:
            raise RunFailed(f"{submitted.target} run {submitted.describe()} still {state} "
                            f"after {timeout:.0f} s")
        time.sleep(interval)


def dumps(p: DeployPlan) -> str:
    return json.dumps(p.as_json(), indent=2)
