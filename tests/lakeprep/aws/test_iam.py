"""`lakeprep iam-policy`: every statement scoped to the configured resources."""

from __future__ import annotations

import json

import pytest

from jobs import cli
from lakeprep.aws.iam import ROLES, deployer_policy, policies
from lakeprep.config import load_settings
from lakeprep.errors import ConfigError

ACCOUNT = "123456789012"
KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.fixture
def settings(monkeypatch):
    monkeypatch.setenv("LAKEPREP_BUCKET", "acme-lake")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("LAKEPREP_GLUE_ROLE_ARN", f"arn:aws:iam::{ACCOUNT}:role/lakeprep-glue")
    monkeypatch.setenv("LAKEPREP_KMS_KEY", KEY)
    monkeypatch.setenv("LAKEPREP_PII_SALT_SECRET", "prod/pii-salt")
    return load_settings("glue")


def _statements(doc):
    return doc["policy"]["Statement"]


def test_no_wildcard_resource_but_where_the_service_requires_it(settings):
    docs = policies(settings)
    assert set(docs) == set(ROLES)
    for role, doc in docs.items():
        assert doc["trust"]["Statement"][0]["Principal"]["Service"] == ROLES[role]
        for st in _statements(doc):
            resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            if "*" in resources:
                assert st["Action"] == ["cloudwatch:PutMetricData"] and st["Condition"], st
                continue
            for arn in resources:
                assert arn.startswith("arn:aws:"), arn
                assert ":*:" not in arn and not arn.endswith(":*"), arn
                if arn.startswith("arn:aws:s3:::"):
                    assert arn.startswith("arn:aws:s3:::acme-lake"), arn
                    assert arn == "arn:aws:s3:::acme-lake" or "/" in arn.removeprefix(
                        "arn:aws:s3:::acme-lake"), arn


def test_policies_name_the_lake_prefixes_key_and_secret(settings):
    glue = _statements(policies(settings)["glue-job-role"])
    by_sid = {st["Sid"]: st for st in glue}
    assert "arn:aws:s3:::acme-lake/lake/bronze/*" in by_sid["LakeReadWrite"]["Resource"]
    assert by_sid["ArtefactsRead"]["Resource"] == ["arn:aws:s3:::acme-lake/lakeprep/artifacts/*"]
    assert by_sid["KmsForLakeAndArtefacts"]["Resource"] == [KEY]
    assert by_sid["PiiSaltSecret"]["Resource"] == [
        f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:prod/pii-salt-??????"]
    assert f"arn:aws:glue:eu-west-1:{ACCOUNT}:table/lakeprep/*" in \
        by_sid["GlueCatalogTables"]["Resource"]


def test_cli_prints_the_documents(settings, capsys):
    assert cli.main(["iam-policy", "--env", "glue"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == set(ROLES)


def test_without_a_role_arn_the_account_is_unknown(settings, monkeypatch):
    monkeypatch.delenv("LAKEPREP_GLUE_ROLE_ARN")
    monkeypatch.delenv("LAKEPREP_KMS_KEY")
    with pytest.raises(ConfigError, match=r"deploy.glue.role_arn .*is not set"):
        policies(load_settings("glue"))


def _linted(doc) -> list[tuple[str, str]]:
    from parliament import analyze_policy_string

    policy = analyze_policy_string(json.dumps(doc), include_community_auditors=True)
    return sorted((f.issue, ",".join(f.location.get("actions", []))) for f in policy.findings)


def test_every_generated_policy_passes_the_parliament_linter(settings, monkeypatch):
    monkeypatch.setenv("LAKEPREP_EMR_SERVERLESS_ROLE_ARN", f"arn:aws:iam::{ACCOUNT}:role/sls")
    monkeypatch.setenv("LAKEPREP_EMR_CLUSTER_ID", "j-ABC")
    monkeypatch.setenv("LAKEPREP_EMR_SERVERLESS_APP_ID", "00app")
    settings = load_settings("glue")
    for role, doc in policies(settings).items():
        assert _linted(doc["policy"]) == [], role
        # a trust policy is a resource policy: it names no Resource, which parliament (made for
        # identity policies) reports; nothing else may be found
        assert [issue for issue, _ in _linted(doc["trust"])] == ["MALFORMED"], role
    deployer = deployer_policy(settings)["deployer"]["policy"]
    # passing the job roles is the deployer's job: scoped to the two roles and their services
    assert _linted(deployer) == [("PERMISSIONS_MANAGEMENT_ACTIONS", "iam:passrole")]
    passrole = next(s for s in deployer["Statement"] if s["Action"] == ["iam:PassRole"])
    assert passrole["Resource"] == [f"arn:aws:iam::{ACCOUNT}:role/lakeprep-glue",
                                    f"arn:aws:iam::{ACCOUNT}:role/sls"]
    assert passrole["Condition"]["StringEquals"]["iam:PassedToService"]


def test_job_roles_hold_no_action_a_job_does_not_call(settings):
    for role, doc in policies(settings).items():
        actions = {a for st in _statements(doc) for a in st["Action"]}
        assert not {a for a in actions if a.startswith("glue:") and not a.startswith(
            "glue:Get")}, role
        assert not {a for a in actions if a.startswith(("iam:", "emr", "elasticmapreduce"))}


def test_the_deployers_policy_covers_deploy_and_catalog_register(settings, capsys):
    assert cli.main(["iam-policy", "--env", "glue", "--for", "deployer"]) == 0
    doc = json.loads(capsys.readouterr().out)["deployer"]["policy"]
    actions = {a for st in doc["Statement"] for a in st["Action"]}
    assert {"iam:PassRole", "glue:CreateJob", "glue:UpdateJob", "glue:StartJobRun",
            "elasticmapreduce:AddJobFlowSteps", "emr-serverless:StartJobRun",
            "glue:CreateDatabase", "s3:PutObject"} <= actions
