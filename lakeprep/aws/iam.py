"""``lakeprep iam-policy``: least-privilege policies of the roles that run lakeprep's jobs, and
of the person who deploys them (``--for deployer``).

One document per role (the Glue job role, the EMR on EC2 instance profile role, the EMR
Serverless execution role), each with its trust policy, scoped to the lake's bucket prefixes,
the artefact prefix, the KMS key, the PII salt secret and the Glue database, and holding only
actions a job calls (the Glue Data Catalog is read, never written, by a job: `catalog register`
writes it, as the deployer). The only ``*`` resource is CloudWatch's PutMetricData, which has
no resource-level permissions (it is narrowed by a namespace condition instead).
"""

from __future__ import annotations

from typing import Any

from lakeprep.aws.clients import split_s3
from lakeprep.aws.secrets import parse_reference
from lakeprep.config import Settings
from lakeprep.errors import ConfigError

ROLES = {
    "glue-job-role": "glue.amazonaws.com",
    "emr-instance-profile-role": "ec2.amazonaws.com",
    "emr-serverless-execution-role": "emr-serverless.amazonaws.com",
}


def policies(settings: Settings) -> dict[str, dict[str, Any]]:
    """``{role: {"trust": document, "policy": document}}`` for the configured environment."""
    account = _account(settings)
    region = settings.deploy.region or "*"
    common = [*_s3(settings), *_kms(settings, region, account), *_secret(settings, region, account),
              _catalog(settings, region, account)]
    out = {}
    for role, principal in ROLES.items():
        statements = list(common)
        if role == "emr-serverless-execution-role" and settings.deploy.bucket:
            # EMR Serverless writes the run's logs to its S3 monitoring location as this role
            statements.append({
                "Sid": "RunLogsWrite", "Effect": "Allow", "Action": ["s3:PutObject"],
                "Resource": [f"arn:aws:s3:::{settings.deploy.bucket}/"
                             f"{settings.deploy.logs_prefix}/*"]})
        if role == "glue-job-role":
            statements += [
                {"Sid": "GlueLogs", "Effect": "Allow",
                 "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                 "Resource": [f"arn:aws:logs:{region}:{account}:log-group:/aws-glue/*"]},
                {"Sid": "GlueMetrics", "Effect": "Allow", "Action": ["cloudwatch:PutMetricData"],
                 "Resource": "*",  # PutMetricData has no resource-level permissions
                 "Condition": {"StringEquals": {"cloudwatch:namespace": "Glue"}}}]
        out[role] = {
            "trust": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": principal},
                "Action": "sts:AssumeRole"}]},
            "policy": {"Version": "2012-10-17", "Statement": statements},
        }
    return out


def _account(settings: Settings) -> str:
    d = settings.deploy
    for arn in (d.glue.role_arn, d.emr_serverless.execution_role_arn, d.kms_key):
        if arn and arn.startswith("arn:"):
            return arn.split(":")[4]
    raise ConfigError(f"{settings.where('deploy')}: deploy.glue.role_arn (or "
                      f"deploy.emr_serverless.execution_role_arn) is not set: the policies name "
                      f"the account it belongs to")


def _s3(settings: Settings) -> list[dict[str, Any]]:
    """Read/write on the lake's prefixes, read on the artefacts; listing only under them."""
    lake = [*settings.lake.layers.values(), settings.lake.system]
    if any("://" not in p for p in lake if p):
        raise ConfigError(f"--env {settings.env}: the lake is on local folders "
                          f"({settings.lake.layers}); policies are for an S3 lake")
    writable = sorted({split_s3(p) for p in lake if p})
    readable = []
    if settings.deploy.bucket:
        readable.append((settings.deploy.bucket, settings.deploy.prefix))
    prefixes: dict[str, list[str]] = {}
    for bucket, key in [*writable, *readable]:
        prefixes.setdefault(bucket, []).append(key.rstrip("/"))
    statements: list[dict[str, Any]] = [
        {"Sid": "LakeReadWrite", "Effect": "Allow",
         "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": [f"arn:aws:s3:::{b}/{k.rstrip('/')}/*" for b, k in writable]},
    ]
    if readable:
        statements.append({"Sid": "ArtefactsRead", "Effect": "Allow", "Action": ["s3:GetObject"],
                           "Resource": [f"arn:aws:s3:::{b}/{k}/*" for b, k in readable]})
    for i, (bucket, keys) in enumerate(sorted(prefixes.items())):
        statements.append({
            "Sid": f"List{i}", "Effect": "Allow", "Action": ["s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{bucket}"],
            "Condition": {"StringLike": {"s3:prefix": sorted(
                {p for k in keys for p in (f"{k}/*", k)})}}})
    return statements


def _kms(settings: Settings, region: str, account: str) -> list[dict[str, Any]]:
    key = settings.deploy.kms_key
    if not key:
        return []
    arn = key if key.startswith("arn:") else f"arn:aws:kms:{region}:{account}:key/{key}"
    return [{"Sid": "KmsForLakeAndArtefacts", "Effect": "Allow",
             "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], "Resource": [arn]}]


def _secret(settings: Settings, region: str, account: str) -> list[dict[str, Any]]:
    ref = settings.ingest.pii_salt_secret
    if not ref:
        return []
    kind, name = parse_reference(ref)
    if kind == "ssm":
        return [{"Sid": "PiiSaltParameter", "Effect": "Allow", "Action": ["ssm:GetParameter"],
                 "Resource": [f"arn:aws:ssm:{region}:{account}:parameter/{name.lstrip('/')}"]}]
    # Secrets Manager appends six random characters to a secret's ARN
    arn = name if name.startswith("arn:") else \
        f"arn:aws:secretsmanager:{region}:{account}:secret:{name}-??????"
    return [{"Sid": "PiiSaltSecret", "Effect": "Allow",
             "Action": ["secretsmanager:GetSecretValue"], "Resource": [arn]}]


def _catalog(settings: Settings, region: str, account: str) -> dict[str, Any]:
    """Read access to the lake's Glue database: a session on Glue (``--enable-glue-datacatalog``)
    or EMR with the Glue catalog looks tables up there."""
    db = settings.deploy.database
    return {"Sid": "GlueCatalogTables", "Effect": "Allow",
            "Action": ["glue:GetDatabase", "glue:GetTable", "glue:GetTables",
                       "glue:GetPartitions"],
            "Resource": [f"arn:aws:glue:{region}:{account}:catalog",
                         f"arn:aws:glue:{region}:{account}:database/{db}",
                         f"arn:aws:glue:{region}:{account}:table/{db}/*"]}


def deployer_policy(settings: Settings) -> dict[str, Any]:
    """What ``lakeprep deploy`` (preflight, uploads, submissions, ``--wait`` and its logs) and
    ``lakeprep catalog register`` call, scoped like the job roles."""
    d = settings.deploy
    account = _account(settings)
    region = d.region or "*"
    bucket = d.bucket
    if not bucket:
        raise ConfigError(f"{settings.where('deploy', 'bucket')}: deploy.bucket is not set: the "
                          f"deployer's policy names the artefact bucket")
    lake = sorted({split_s3(p) for p in [*settings.lake.layers.values(), settings.lake.system]
                   if p and "://" in p})
    roles = [arn for arn in (d.glue.role_arn, d.emr_serverless.execution_role_arn) if arn]
    app = d.emr_serverless.application_id or "*"
    cluster = d.emr.cluster_id or "*"
    statements: list[dict[str, Any]] = [
        {"Sid": "ArtefactsUpload", "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
         "Resource": [f"arn:aws:s3:::{bucket}/{d.prefix}/*"]},
        {"Sid": "RunLogsRead", "Effect": "Allow", "Action": ["s3:GetObject"],
         "Resource": [f"arn:aws:s3:::{bucket}/{d.logs_prefix}/*"]},
        # HeadBucket (preflight) and HeadObject's 404 on a new artefact key need ListBucket
        {"Sid": "ArtefactBucket", "Effect": "Allow", "Action": ["s3:ListBucket"],
         "Resource": [f"arn:aws:s3:::{bucket}"]},
        {"Sid": "CatalogReadsTheLake", "Effect": "Allow", "Action": ["s3:GetObject"],
         "Resource": [f"arn:aws:s3:::{b}/{k.rstrip('/')}/*" for b, k in lake]},
        {"Sid": "CatalogListsTheLake", "Effect": "Allow", "Action": ["s3:ListBucket"],
         "Resource": sorted({f"arn:aws:s3:::{b}" for b, _ in lake})},
        {"Sid": "GlueJobs", "Effect": "Allow",
         "Action": ["glue:GetJob", "glue:CreateJob", "glue:UpdateJob", "glue:StartJobRun",
                    "glue:GetJobRun", "glue:TagResource"],
         "Resource": [f"arn:aws:glue:{region}:{account}:job/lakeprep-*"]},
        {"Sid": "GlueJobLogs", "Effect": "Allow", "Action": ["logs:GetLogEvents"],
         "Resource": [f"arn:aws:logs:{region}:{account}:log-group:/aws-glue/jobs/*"]},
        {"Sid": "CatalogRegister", "Effect": "Allow",
         "Action": ["glue:GetDatabase", "glue:CreateDatabase", "glue:GetTable",
                    "glue:CreateTable", "glue:UpdateTable"],
         "Resource": [f"arn:aws:glue:{region}:{account}:catalog",
                      f"arn:aws:glue:{region}:{account}:database/{d.database}",
                      f"arn:aws:glue:{region}:{account}:table/{d.database}/*"]},
        {"Sid": "EmrSteps", "Effect": "Allow",
         "Action": ["elasticmapreduce:DescribeCluster", "elasticmapreduce:AddJobFlowSteps",
                    "elasticmapreduce:DescribeStep"],
         "Resource": [f"arn:aws:elasticmapreduce:{region}:{account}:cluster/{cluster}"]},
        {"Sid": "EmrServerlessRuns", "Effect": "Allow",
         "Action": ["emr-serverless:GetApplication", "emr-serverless:StartJobRun",
                    "emr-serverless:GetJobRun", "emr-serverless:TagResource"],
         "Resource": [f"arn:aws:emr-serverless:{region}:{account}:/applications/{app}",
                      f"arn:aws:emr-serverless:{region}:{account}:/applications/{app}/jobruns/*"]},
    ]
    if roles:
        statements.append({"Sid": "JobRolesLookUp", "Effect": "Allow", "Action": ["iam:GetRole"],
                           "Resource": roles})
        statements.append({
            "Sid": "JobRolesPass", "Effect": "Allow", "Action": ["iam:PassRole"],
            "Resource": roles, "Condition": {"StringEquals": {"iam:PassedToService": [
                "glue.amazonaws.com", "emr-serverless.amazonaws.com"]}}})
    if d.kms_key:
        key = d.kms_key if d.kms_key.startswith("arn:") else \
            f"arn:aws:kms:{region}:{account}:key/{d.kms_key}"
        statements.append({"Sid": "KmsForUploads", "Effect": "Allow",
                           "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": [key]})
    return {"deployer": {"policy": {"Version": "2012-10-17", "Statement": statements}}}
