"""``lakeprep deploy``: upload the packaged artefacts and submit a job to Glue, EMR or EMR
Serverless with boto3.

A deploy is planned first (`plan`): the uploads and the exact API requests, with every conf
key and artefact checked; ``--dry-run`` prints the plan. `lakeprep.aws.preflight` then checks
the account (credentials, region, bucket, role, cluster or application) before the first upload,
and `execute` carries the plan out; `lakeprep.aws.runs` follows the run.

What a job runs is what the plan names, nothing of the deployer's machine:

- every artefact is keyed by its content (``<prefix>/<sha256[:16]>/<file>``): a redeploy of
  changed code gets new keys, so a running cluster picks the new code up at its next step,
  and an unchanged artefact is not uploaded again;
- the conf the deployer loaded (``base/`` and ``<env>/`` of ``--conf-dir``) travels as a conf
  bundle (``conf-<env>.zip``, keyed by its content like the rest) that the job reads through
  ``LAKEPREP_CONF_DIR``, so the job reads what the dry-run and the IAM policy were made from;
- a value with whitespace is refused: EMR Serverless splits ``sparkSubmitParameters`` and Glue
  its ``--conf`` value at whitespace, so it would become a stray argument.

Secrets never appear in a request: a job gets the *name* of the PII salt secret
(``LAKEPREP_PII_SALT_SECRET``, i.e. ``ingest.pii_salt_secret``) and reads its value at run time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakeprep.aws.clients import client, split_s3
from lakeprep.aws.package import (
    ARCHIVE_ALIAS,
    ARCHIVE_PYTHON,
    ENTRY,
    GLUE_SCRIPT,
    PYTHON_ARCHIVE,
    artefacts_for,
)
from lakeprep.config import Settings
from lakeprep.errors import AwsError, ConfigError, UsageError

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
CONF_BUNDLE = "conf-{env}.zip"
CONF_VARIABLE = "LAKEPREP_CONF_DIR"
# the jobs deploy submits: `lakeprep run JOB` for these, `lakeprep reproduce` for reproduce
REPRODUCE = "reproduce"
# Glue passes job parameters as `--NAME value`: the job's own options ride in one of them
GLUE_JOB_ARGS = "--LAKEPREP_ARGS"


@dataclass(frozen=True)
class Request:
    """One boto3 call: ``client(service).<operation>(**params)``."""

    service: str
    operation: str
    params: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"service": self.service, "operation": self.operation, "params": self.params}


@dataclass(frozen=True)
class Upload:
    """One artefact and the content-addressed S3 URI it goes to."""

    local: Path
    uri: str


@dataclass
class DeployPlan:
    target: str
    job: str
    env: str
    region: str | None
    uploads: list[Upload] = field(default_factory=list)
    upload_args: dict[str, str] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    log_uri: str | None = None  # EMR Serverless: the S3 monitoring location of the run

    def as_json(self) -> list[dict[str, Any]]:
        """The exact requests, uploads first (what ``--dry-run`` prints)."""
        puts = []
        for up in self.uploads:
            bucket, key = split_s3(up.uri)
            puts.append({"service": "s3", "operation": "upload_file",
                         "params": {"Filename": str(up.local), "Bucket": bucket, "Key": key,
                                    **({"ExtraArgs": self.upload_args}
                                       if self.upload_args else {})}})
        return puts + [r.as_json() for r in self.requests]


def cli_argv(job: str, env: str, job_args: Sequence[str] = ()) -> list[str]:
    """The ``lakeprep`` arguments every target passes to the one entry point.

    >>> cli_argv("build-features", "emr", ["--set", "taxi_tips"])
    ['run', 'build-features', '--env', 'emr', '--set', 'taxi_tips']
    >>> cli_argv("reproduce", "glue", ["s3://b/exports/x"])
    ['reproduce', 's3://b/exports/x', '--env', 'glue']
    """
    if job == REPRODUCE:
        return [REPRODUCE, *job_args, "--env", env]
    return ["run", job, "--env", env, *job_args]


def plan(target: str, job: str, settings: Settings, dist: Path,
         job_args: Sequence[str] = ()) -> DeployPlan:
    """The uploads and API requests of deploying ``job`` to ``target``; checks conf and dist."""
    d = settings.deploy
    local = sorted(k for k, v in settings.lake.layers.items() if "://" not in v)
    if local:
        raise UsageError(f"--env {settings.env}: lake.layers.{local[0]} is a local folder "
                         f"({settings.lake.layers[local[0]]}); deploy an environment whose lake "
                         f"is on S3 (glue, emr)")
    bucket = _required(settings, d.bucket, "deploy", "bucket", "LAKEPREP_DEPLOY_BUCKET")
    files = _artefacts(target, dist)
    bundle = conf_bundle(settings, dist)
    if bundle is not None:
        files["conf"] = bundle
    p = DeployPlan(target, job, settings.env, d.region)
    uri = {name: content_uri(bucket, d.prefix, path) for name, path in files.items()}
    p.uploads = [Upload(files[name], uri[name]) for name in files]
    if d.kms_key:
        p.upload_args = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": d.kms_key}
    conf_uri = uri.get("conf") or settings.conf_dir  # a remote conf goes as it is
    env = job_environment(settings, conf_uri)
    spark_conf = {**DELTA_CONF, **settings.spark.conf}
    argv = cli_argv(job, settings.env, job_args)
    if target == "glue":
        p.requests = _glue(settings, job, uri, env, spark_conf, list(job_args))
    elif target == "emr":
        p.requests = _emr(settings, job, uri, env, spark_conf, argv)
    else:
        p.log_uri = f"s3://{bucket}/{d.logs_prefix}/"
        p.requests = _emr_serverless(settings, job, uri, env, spark_conf, argv, p.log_uri)
    return p


def content_uri(bucket: str, prefix: str, path: Path) -> str:
    """``s3://bucket/prefix/<first 16 hex of the file's sha256>/<file name>``."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return f"s3://{bucket}/{prefix}/{digest.hexdigest()[:16]}/{path.name}"


def conf_bundle(settings: Settings, dist: Path) -> Path | None:
    """``dist/conf-<env>.zip``: the conf folder's ``base/`` and ``<env>/`` files as the job
    loads them (``${VAR}`` left for the job to fill in), byte for byte the same zip for the
    same files; ``None`` when the conf already is remote (``s3://``), passed on as it is."""
    where = settings.conf_dir
    if "://" in where:
        return None
    if where.endswith(".zip"):
        return Path(where)
    root = Path(where)
    files = sorted(p for folder in ("base", settings.env) for p in (root / folder).rglob("*")
                   if p.is_file() and p.suffix in (".yaml", ".yml"))
    dest = dist / CONF_BUNDLE.format(env=settings.env)
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
        for path in files:
            # a fixed date: the same files give the same bytes, hence the same key
            info = zipfile.ZipInfo(str(path.relative_to(root)), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            z.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    return dest


def job_environment(settings: Settings, conf_uri: str) -> dict[str, str]:
    """What a job run gets as environment: ``deploy.job_env``, the salt secret's name and the
    conf it reads (``LAKEPREP_CONF_DIR``)."""
    env = dict(settings.deploy.job_env)
    if settings.ingest.pii_salt_secret:
        env["LAKEPREP_PII_SALT_SECRET"] = settings.ingest.pii_salt_secret
    leaked = sorted(set(env) & set(SECRET_VARIABLES))
    if leaked:
        raise ConfigError(f"{settings.where('deploy', 'job_env')}: deploy.job_env.{leaked[0]}: a "
                          f"secret value never goes into a job definition; name its secret in "
                          f"ingest.pii_salt_secret instead")
    env[CONF_VARIABLE] = conf_uri
    for name, value in env.items():
        _one_token(settings, ("deploy", "job_env", name), value)
    return env


def _one_token(settings: Settings, key: tuple[str, ...], value: str) -> None:
    if not value or any(c.isspace() for c in value):
        raise ConfigError(f"{settings.where(*key)}: {'.'.join(key)}: {value!r} is empty or holds "
                          f"whitespace; EMR Serverless splits sparkSubmitParameters (and Glue "
                          f"its --conf) at whitespace, so it cannot be passed to a job")


def _spark_conf_checked(settings: Settings, conf: dict[str, str]) -> dict[str, str]:
    for key, value in conf.items():
        _one_token(settings, ("spark", "conf", key), f"{key}={value}")
    return conf


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
          spark_conf: dict[str, str], job_args: list[str]) -> list[Request]:
    g = settings.deploy.glue
    role = _required(settings, g.role_arn, "deploy", "glue", "role_arn", "LAKEPREP_GLUE_ROLE_ARN")
    name = f"lakeprep-{job}-{settings.env}"
    # Glue takes one --conf argument: further settings ride in its value as `--conf k=v`
    conf = " --conf ".join(f"{k}={v}" for k, v in _spark_conf_checked(settings,
                                                                       spark_conf).items())
    arguments = {
        "--datalake-formats": "delta",
        # pip installs the wheel and what of its requirements Glue lacks; none of them is Spark
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
    # the job's own options belong to this run, not to the job definition
    run = {"JobName": name, **({"Arguments": {GLUE_JOB_ARGS: json.dumps(job_args)}}
                               if job_args else {})}
    return [Request("glue", "create_job", {"Name": name, **definition,
                                          "Tags": settings.deploy.tags}),
            Request("glue", "start_job_run", run)]


def _emr(settings: Settings, job: str, uri: dict[str, str], env: dict[str, str],
         spark_conf: dict[str, str], argv: list[str]) -> list[Request]:
    e = settings.deploy.emr
    cluster = _required(settings, e.cluster_id, "deploy", "emr", "cluster_id",
                        "LAKEPREP_EMR_CLUSTER_ID")
    # YARN unpacks --archives in the driver's and every executor's container: the step brings
    # its own Python, so a running cluster runs each deploy's code without a bootstrap action
    conf = {"spark.yarn.appMasterEnv.PYSPARK_PYTHON": ARCHIVE_PYTHON,
            "spark.executorEnv.PYSPARK_PYTHON": ARCHIVE_PYTHON}
    for k, v in env.items():
        conf[f"spark.yarn.appMasterEnv.{k}"] = v
        conf[f"spark.executorEnv.{k}"] = v
    conf.update(spark_conf)
    args = ["spark-submit", "--deploy-mode", "cluster",
            "--archives", f"{uri[PYTHON_ARCHIVE]}#{ARCHIVE_ALIAS}",
            *[a for k, v in conf.items() for a in ("--conf", f"{k}={v}")], uri[ENTRY], *argv]
    step = {"Name": f"lakeprep {job} ({settings.env})", "ActionOnFailure": e.action_on_failure,
            "HadoopJarStep": {"Jar": "command-runner.jar", "Args": args}}
    return [Request("emr", "add_job_flow_steps", {"JobFlowId": cluster, "Steps": [step]})]


def _emr_serverless(settings: Settings, job: str, uri: dict[str, str], env: dict[str, str],
                    spark_conf: dict[str, str], argv: list[str], log_uri: str) -> list[Request]:
    s = settings.deploy.emr_serverless
    app = _required(settings, s.application_id, "deploy", "emr_serverless", "application_id",
                    "LAKEPREP_EMR_SERVERLESS_APP_ID")
    role = _required(settings, s.execution_role_arn, "deploy", "emr_serverless",
                     "execution_role_arn", "LAKEPREP_EMR_SERVERLESS_ROLE_ARN")
    conf = {
        "spark.archives": f"{uri[PYTHON_ARCHIVE]}#{ARCHIVE_ALIAS}",
        "spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON": ARCHIVE_PYTHON,
        "spark.emr-serverless.driverEnv.PYSPARK_PYTHON": ARCHIVE_PYTHON,
        "spark.executorEnv.PYSPARK_PYTHON": ARCHIVE_PYTHON,
        **{f"spark.emr-serverless.driverEnv.{k}": v for k, v in env.items()},
        **{f"spark.executorEnv.{k}": v for k, v in env.items()},
        "spark.jars": EMR_DELTA_JARS,
        "spark.driver.cores": str(s.driver_cores), "spark.driver.memory": s.driver_memory,
        "spark.executor.cores": str(s.executor_cores),
        "spark.executor.memory": s.executor_memory,
        "spark.executor.instances": str(s.executor_instances),
        **spark_conf,
    }
    params = " ".join(f"--conf {k}={v}" for k, v in _spark_conf_checked(settings, conf).items())
    return [Request("emr-serverless", "start_job_run", {
        "applicationId": app, "executionRoleArn": role, "name": f"lakeprep {job} ({settings.env})",
        "jobDriver": {"sparkSubmit": {"entryPoint": uri[ENTRY], "entryPointArguments": argv,
                                      "sparkSubmitParameters": params}},
        "configurationOverrides": {"monitoringConfiguration": {
            "s3MonitoringConfiguration": {"logUri": log_uri}}},
        "tags": settings.deploy.tags})]


# execution -----------------------------------------------------------------------------------
@dataclass
class Submitted:
    """What a deploy started: enough to follow the run."""

    target: str
    ids: dict[str, str]
    log_uri: str | None = None

    def describe(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in self.ids.items())


def execute(p: DeployPlan) -> Submitted:
    """Upload the artefacts not there yet, then make the plan's requests (a Glue job is
    updated if it exists). An AWS error stops it with one line that says what was done."""
    done: list[str] = []
    step = "s3 PutObject"
    try:
        s3 = client("s3", p.region)
        for up in p.uploads:
            bucket, key = split_s3(up.uri)
            step = f"uploading {up.local.name} to {up.uri}"
            if _same_object(s3, bucket, key, up.local):
                log.info("already there: %s", up.uri)
                continue
            s3.upload_file(str(up.local), bucket, key, ExtraArgs=p.upload_args or None)
            done.append(f"uploaded {up.uri}")
            log.info("uploaded %s", up.uri)
        clients: dict[str, Any] = {}
        ids: dict[str, str] = {}
        for r in p.requests:
            api = clients.setdefault(r.service, client(r.service, p.region))
            step = f"{r.service} {_operation_name(r.operation)}"
            if r.operation == "create_job" and _glue_job_exists(api, r.params["Name"]):
                step = "glue UpdateJob"
                update = {k: v for k, v in r.params.items() if k not in ("Name", "Tags")}
                api.update_job(JobName=r.params["Name"], JobUpdate=update)
                done.append(f"updated Glue job {r.params['Name']}")
                ids["glue job"] = r.params["Name"]
                continue
            response = getattr(api, r.operation)(**r.params)
            if r.operation == "create_job":
                ids["glue job"] = response["Name"]
                done.append(f"created Glue job {response['Name']}")
            elif r.operation == "start_job_run" and r.service == "glue":
                ids["run"] = response["JobRunId"]
            elif r.operation == "add_job_flow_steps":
                ids["cluster"] = r.params["JobFlowId"]
                ids["step"] = response["StepIds"][0]
            elif r.operation == "start_job_run":
                ids["application"] = response["applicationId"]
                ids["run"] = response["jobRunId"]
    except Exception as e:
        message = aws_error_message(e)
        if message is None:
            raise
        already = "; ".join(done) if done else "nothing uploaded or created"
        raise AwsError(f"{step}: {message} (so far: {already})") from None
    return Submitted(p.target, ids, p.log_uri)


def _operation_name(operation: str) -> str:
    return "".join(part.capitalize() for part in operation.split("_"))


def _same_object(s3: Any, bucket: str, key: str, local: Path) -> bool:
    """True when ``key`` holds an object of ``local``'s size (its name carries its hash)."""
    from botocore.exceptions import ClientError

    try:
        return int(s3.head_object(Bucket=bucket, Key=key)["ContentLength"]) == \
            local.stat().st_size
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise


def _glue_job_exists(glue: Any, name: str) -> bool:
    try:
        glue.get_job(JobName=name)
        return True
    except glue.exceptions.EntityNotFoundException:
        return False


def aws_error_message(e: BaseException) -> str | None:
    """``Code: message`` of an AWS SDK error in one line (``None`` for anything else)."""
    import re

    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(e, ClientError):
        error = e.response.get("Error", {})
        code = error.get("Code") or "error"
        text = error.get("Message") or e.response.get("ResponseMetadata", {}).get(
            "HTTPStatusCode", "")
        return f"{code}: {text}".strip()
    if isinstance(e, S3UploadFailedError):
        found = re.search(r"\((\w+)\) when calling the \w+ operation[^:]*: (.*)", str(e))
        return f"{found.group(1)}: {found.group(2)}" if found else str(e).splitlines()[0]
    if isinstance(e, BotoCoreError):
        return " ".join(str(e).split())
    return None


def dumps(p: DeployPlan) -> str:
    return json.dumps(p.as_json(), indent=2)
