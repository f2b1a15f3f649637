"""The PII salt by reference: Secrets Manager or SSM, read at run time (moto server)."""

from __future__ import annotations

import json

import pytest

from lakeprep.aws.secrets import read_secret
from lakeprep.config import load_settings
from lakeprep.errors import ConfigError
from lakeprep.ingest.pii import salt_for


def test_secrets_manager_and_ssm_references(aws):
    aws("secretsmanager").create_secret(Name="lakeprep/salt-plain", SecretString="s1")
    aws("secretsmanager").create_secret(Name="lakeprep/salt-json",
                                        SecretString=json.dumps({"salt": "s2"}))
    aws("ssm").put_parameter(Name="/lakeprep/salt", Value="s3", Type="SecureString")
    assert read_secret("lakeprep/salt-plain", "k") == "s1"
    assert read_secret("secretsmanager:lakeprep/salt-json", "k") == "s2"
    assert read_secret("ssm:/lakeprep/salt", "k") == "s3"
    with pytest.raises(ConfigError, match=r"ingest.pii_salt_secret: cannot read "
                                          r"secretsmanager secret 'nope'"):
        read_secret("nope", "ingest.pii_salt_secret")


def test_ingest_reads_the_salt_from_the_named_secret(aws, monkeypatch):
    aws("secretsmanager").create_secret(Name="prod/pii-salt", SecretString="from-the-secret")
    monkeypatch.setenv("LAKEPREP_BUCKET", "lake")
    monkeypatch.setenv("LAKEPREP_PII_SALT_SECRET", "prod/pii-salt")
    monkeypatch.delenv("LAKEPREP_PII_SALT", raising=False)
    settings = load_settings("emr")
    assert salt_for(settings, [settings.table("customers")]) == "from-the-secret"
    monkeypatch.setenv("LAKEPREP_PII_SALT", "from-the-variable")  # the variable still wins
    assert salt_for(settings, [settings.table("customers")]) == "from-the-variable"
