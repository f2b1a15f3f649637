"""Check the account before a deploy uploads anything: region, credentials (STS
GetCallerIdentity), the artefact bucket, the role a run assumes, the EMR cluster or the EMR
Serverless application. Each problem stops the deploy with one line naming what to set
(ConfigError, exit 2)."""

from __future__ import annotations

import logging
from typing import Any

from lakeprep.aws.clients import client
from lakeprep.aws.deploy import DeployPlan, aws_error_message
from lakeprep.config import Settings
from lakeprep.errors import ConfigError

log = logging.getLogger(__name__)

# EMR cluster states that still take steps
LIVE_CLUSTER = {"STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING"}


def check(p: DeployPlan, settings: Settings) -> str:
    """Every check in turn; returns the caller's ARN (what the deploy runs as)."""
    import boto3

    d = settings.deploy
    region = boto3.session.Session(region_name=d.region).region_name
    if not region:
        raise ConfigError("no AWS region: set AWS_REGION (or deploy.region in "
                          f"conf/{settings.env}/deploy.yaml)")
    caller = _ask("sts", "GetCallerIdentity", region,
                  lambda: client("sts", region).get_caller_identity())["Arn"]
    bucket = d.bucket or ""
    _exists("s3", "HeadBucket", region, lambda: client("s3", region).head_bucket(Bucket=bucket),
            f"{settings.where('deploy', 'bucket')}: deploy.bucket: bucket {bucket!r} does not "
            f"exist or is not yours (set LAKEPREP_DEPLOY_BUCKET, or LAKEPREP_BUCKET for "
            f"--env {settings.env})")
    if p.target == "glue":
        _role(settings, region, d.glue.role_arn or "", ("deploy", "glue", "role_arn"),
              "LAKEPREP_GLUE_ROLE_ARN")
    elif p.target == "emr":
        cluster_id = d.emr.cluster_id or ""
        where = f"{settings.where('deploy', 'emr', 'cluster_id')}: deploy.emr.cluster_id"
        cluster = _exists("emr", "DescribeCluster", region, lambda: client(
            "emr", region).describe_cluster(ClusterId=cluster_id),
            f"{where}: no EMR cluster {cluster_id!r} (set LAKEPREP_EMR_CLUSTER_ID)")["Cluster"]
        state = cluster["Status"]["State"]
        if state not in LIVE_CLUSTER:
            raise ConfigError(f"{where}: cluster {cluster_id} is {state}; steps need a running "
                              f"cluster (set LAKEPREP_EMR_CLUSTER_ID)")
    else:
        s = d.emr_serverless
        app_id = s.application_id or ""
        where = (f"{settings.where('deploy', 'emr_serverless', 'application_id')}: "
                 f"deploy.emr_serverless.application_id")
        app = _exists("emr-serverless", "GetApplication", region, lambda: client(
            "emr-serverless", region).get_application(applicationId=app_id),
            f"{where}: no EMR Serverless application {app_id!r} (set "
            f"LAKEPREP_EMR_SERVERLESS_APP_ID)")["application"]
        if app["state"] in ("TERMINATED", "STOPPING") or app.get("type", "Spark").lower() \
                != "spark":
            raise ConfigError(f"{where}: application {app_id} is {app['state']} "
                              f"({app.get('type')}); runs need a Spark application that is not "
                              f"terminated")
        _role(settings, region, s.execution_role_arn or "",
              ("deploy", "emr_serverless", "execution_role_arn"),
              "LAKEPREP_EMR_SERVERLESS_ROLE_ARN")
    log.info("deploying as %s in %s", caller, region)
    return str(caller)


def _role(settings: Settings, region: str, arn: str, key: tuple[str, ...], variable: str) -> None:
    name = arn.rsplit("/", 1)[-1]
    _exists("iam", "GetRole", region, lambda: client("iam", region).get_role(RoleName=name),
            f"{settings.where(*key)}: {'.'.join(key)}: no IAM role {arn!r} (set {variable}; "
            f"`lakeprep iam-policy` prints its policy and trust)")


def _ask(service: str, operation: str, region: str, call: Any) -> Any:
    """``call()``, its failure turned into one line naming what to set."""
    from botocore.exceptions import (
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    try:
        return call()
    except (NoCredentialsError, PartialCredentialsError):
        raise ConfigError("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                          "(or AWS_PROFILE)") from None
    except EndpointConnectionError as e:
        raise ConfigError(f"cannot reach {service} at {e.kwargs.get('endpoint_url')}: check the "
                          f"network, AWS_REGION ({region}) and AWS_ENDPOINT_URL") from None
    except Exception as e:
        message = aws_error_message(e)
        if message is None:
            raise
        raise ConfigError(f"{service} {operation} refused: {message} (check the credentials "
                          f"in AWS_ACCESS_KEY_ID/AWS_PROFILE and `lakeprep iam-policy --for "
                          f"deployer`)") from None


def _exists(service: str, operation: str, region: str, call: Any, missing: str) -> Any:
    """``call()``; a not-found answer raises ConfigError(``missing``)."""
    from botocore.exceptions import ClientError

    try:
        return call()
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "")
        if code in ("404", "NoSuchBucket", "NoSuchEntity", "ResourceNotFoundException",
                    "InvalidRequestException", "ValidationException"):
            raise ConfigError(missing) from None
        refused = e
    return _ask(service, operation, region, lambda: _raise(refused))


def _raise(e: Exception) -> Any:
    raise e
