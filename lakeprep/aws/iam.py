"""``lakeprep iam-policy``: least-privilege policies of the roles that run lakeprep's jobs.

One document per role (the Glue job role, the EMR on EC2 instance profile role, the EMR
Serverless execution role), each with its trust policy, scoped to the lake's bucket prefixes,
the artefact prefix, the KMS key, the PII salt secret and the Glue database. The only ``*``
resource is CloudWatch's PutMetricData, which has no resource-level permissions (it is
narrowed by a namespace condition instead).
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
    db = settings.deploy.database
    return {"Sid": "GlueCatalogTables", "Effect": "Allow",
            "Action": ["glue:GetDatabase", "glue:GetTable", "glue:GetTables",
                       "glue:GetPartitions", "glue:CreateTable", "glue:UpdateTable"],
            "Resource": [f"arn:aws:glue:{region}:{account}:catalog",
                         f"arn:aws:glue:{region}:{account}:database/{db}",
                         f"arn:aws:glue:{region}:{account}:table/{db}/*"]}
