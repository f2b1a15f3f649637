"""Secrets passed by reference: a job definition names the secret, the job reads it at run time.

A reference is ``ssm:/parameter/name`` (an SSM SecureString parameter) or a Secrets Manager
secret name or ARN (``secretsmanager:`` prefix optional). A JSON secret holding one key is
read as that key's value, so ``{"salt": "..."}`` and a plain string both work.
"""

from __future__ import annotations

import json

from lakeprep.aws.clients import client
from lakeprep.errors import ConfigError


def read_secret(reference: str, key: str, region: str | None = None) -> str:
    """The value behind ``reference``; ``key`` names the conf key that holds the reference."""
    from botocore.exceptions import BotoCoreError, ClientError

    kind, name = parse_reference(reference)
    try:
        if kind == "ssm":
            value = client("ssm", region).get_parameter(Name=name, WithDecryption=True)[
                "Parameter"]["Value"]
        else:
            value = client("secretsmanager", region).get_secret_value(SecretId=name)[
                "SecretString"]
    except (ClientError, BotoCoreError) as e:
        raise ConfigError(f"{key}: cannot read {kind} secret {name!r}: {e}") from None
    try:
        data = json.loads(value)
    except ValueError:
        return value
    if isinstance(data, dict) and len(data) == 1:
        return str(next(iter(data.values())))
    return value


def parse_reference(reference: str) -> tuple[str, str]:
    """``("ssm" | "secretsmanager", name)`` for a secret reference."""
    if reference.startswith("ssm:"):
        return "ssm", reference.removeprefix("ssm:")
    return "secretsmanager", reference.removeprefix("secretsmanager:")
