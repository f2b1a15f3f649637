"""`lakeprep deploy` against moto server: what lands in S3 and what the Glue job, EMR step and
EMR Serverless job run carry; the job's arguments go through the real CLI parser."""

from __future__ import annotations

import json
import shlex
import shutil

import pytest

from jobs import cli
from lakeprep.aws import deploy
from lakeprep.config import load_settings
from lakeprep.errors import ConfigError, UsageError

from .conftest import REPO

BUCKET = "lake-bucket"
ROLE = "arn:aws:iam::123456789012:role/lakeprep-glue"
SERVERLESS_ROLE = "arn:aws:iam::123456789012:role/lakeprep-serverless"
SECRET = "prod/lakeprep/pii-salt"


@pytest.fixture
def env(aws, monkeypatch):
    monkeypatch.setenv("LAKEPREP_BUCKET", BUCKET)
    monkeypatch.setenv("LAKEPREP_GLUE_ROLE_ARN", ROLE)
    monkeypatch.setenv("LAKEPREP_EMR_SERVERLESS_ROLE_ARN", SERVERLESS_ROLE)
    monkeypatch.setenv("LAKEPREP_PII_SALT_SECRET", SECRET)
    monkeypatch.setenv("LAKEPREP_PII_SALT", "the-salt-value-itself")
    s3 = aws("s3")
    if BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=BUCKET)
    return aws


def _parse(argv):
    try:
        return cli.build_parser().parse_args(argv)
    except SystemExit as e:
        pytest.fail(f"the CLI parser rejects {argv}: exit {e.code}")


def _dry_run(capsys, *argv) -> list[dict]:
    assert cli.main(["deploy", *argv, "--dry-run"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("job", sorted(cli.JOBS))
def test_dry_run_prints_the_requests_of_every_target(env, dist, capsys, monkeypatch, job):
    monkeypatch.setenv("LAKEPREP_EMR_CLUSTER_ID", "j-TEST")
    monkeypatch.setenv("LAKEPREP_EMR_SERVERLESS_APP_ID", "app-1")
    glue = _dry_run(capsys, "glue", job, "--env", "glue", "--dist", str(dist))
    assert [r["operation"] for r in glue] == ["upload_file"] * 3 + ["create_job", "start_job_run"]
    args = glue[3]["params"]["DefaultArguments"]
    namespace = {}
    exec(compile((dist / "run_job.py").read_text(), "run_job.py", "exec"), namespace)
    argv = [a for k, v in args.items() for a in (k, v)]
    parsed = _parse(namespace["cli_arguments"](namespace["lakeprep_variables"](argv)))
    assert (parsed.command, parsed.job, parsed.env) == ("run", job, "glue")

    emr = _dry_run(capsys, "emr", job, "--env", "emr", "--dist", str(dist))
    step = emr[-1]["params"]["Steps"][0]["HadoopJarStep"]
    entry = next(a for a in step["Args"] if a.endswith("/cli.py"))
    parsed = _parse(step["Args"][step["Args"].index(entry) + 1:])
    assert (parsed.job, parsed.env) == (job, "emr")

    sls = _dry_run(capsys, "emr-serverless", job, "--env", "emr", "--dist", str(dist))
    driver = sls[-1]["params"]["jobDriver"]["sparkSubmit"]
    assert _parse(driver["entryPointArguments"]).job == job
    for requests in (glue, emr, sls):
        text = json.dumps(requests)
        assert "the-salt-value-itself" not in text and SECRET in text  # by reference only


def test_glue_deploy_uploads_creates_updates_and_waits(env, dist, capsys, monkeypatch):
    s3, glue = env("s3"), env("glue")
    kms = env("kms").create_key()["KeyMetadata"]["KeyId"]
    monkeypatch.setenv("LAKEPREP_KMS_KEY", kms)
    assert cli.main(["deploy", "glue", "ingest", "--env", "glue", "--dist", str(dist),
                     "--wait"]) == 0
    printed = capsys.readouterr().out
    assert "glue run: SUCCEEDED" in printed, printed
    prefix = "lakeprep/artifacts/0.1.0/"
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"])
    assert keys == [prefix + n for n in ("cli.py", "lakeprep-0.1.0-py3-none-any.whl",
                                         "run_job.py")]
    head = s3.head_object(Bucket=BUCKET, Key=prefix + "run_job.py")
    assert head["ServerSideEncryption"] == "aws:kms" and kms in head["SSEKMSKeyId"]
    assert s3.get_object(Bucket=BUCKET, Key=prefix + "run_job.py")["Body"].read() == \
        (dist / "run_job.py").read_bytes()
    job = glue.get_job(JobName="lakeprep-ingest-glue")["Job"]
    assert job["Role"] == ROLE and job["GlueVersion"] == "5.1"
    assert job["Command"]["ScriptLocation"] == f"s3://{BUCKET}/{prefix}run_job.py"
    args = job["DefaultArguments"]
    assert args["--datalake-formats"] == "delta"
    assert args["--additional-python-modules"] == \
        f"s3://{BUCKET}/{prefix}lakeprep-0.1.0-py3-none-any.whl"
    assert "spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension" in args["--conf"]
    assert args["--job-bookmark-option"] == "job-bookmark-disable"
    assert args["--LAKEPREP_BUCKET"] == BUCKET and args["--LAKEPREP_PII_SALT_SECRET"] == SECRET
    assert (job["WorkerType"], job["NumberOfWorkers"], job["Timeout"]) == ("G.1X", 2, 120)
    assert glue.get_tags(ResourceArn="arn:aws:glue:us-east-1:123456789012:job/"
                         "lakeprep-ingest-glue")["Tags"] == {"project": "lakeprep"}
    # (a second deploy calls glue UpdateJob, which moto 5.2.5 does not implement)


def test_emr_step_runs_spark_submit_through_the_cli(env, dist, capsys, monkeypatch):
    emr = env("emr")
    cluster = emr.run_job_flow(Name="lakeprep", ReleaseLabel="emr-7.5.0",
                               Instances={"MasterInstanceType": "m5.xlarge",
                                          "InstanceCount": 1,
                                          "KeepJobFlowAliveWhenNoSteps": True},
                               JobFlowRole="EMR_EC2_DefaultRole",
                               ServiceRole="EMR_DefaultRole")["JobFlowId"]
    monkeypatch.setenv("LAKEPREP_EMR_CLUSTER_ID", cluster)
    assert cli.main(["deploy", "emr", "export", "--env", "emr", "--dist", str(dist)]) == 0
    steps = emr.list_steps(ClusterId=cluster)["Steps"]
    assert len(steps) == 1
    step = emr.describe_step(ClusterId=cluster, StepId=steps[0]["Id"])["Step"]
    assert step["Config"]["Jar"] == "command-runner.jar"
    args = step["Config"]["Args"]
    assert args[:3] == ["spark-submit", "--deploy-mode", "cluster"]
    assert f"spark.yarn.appMasterEnv.LAKEPREP_PII_SALT_SECRET={SECRET}" in args
    entry = f"s3://{BUCKET}/lakeprep/artifacts/0.1.0/cli.py"
    assert _parse(args[args.index(entry) + 1:]).job == "export"
    assert "the-salt-value-itself" not in json.dumps(args)


def test_emr_serverless_run_carries_the_venv_and_a_failed_run_exits_non_zero(
        env, dist, capsys, monkeypatch):
    sls = env("emr-serverless")
    app = sls.create_application(name="lakeprep", releaseLabel="emr-7.5.0",
                                 type="SPARK")["applicationId"]
    monkeypatch.setenv("LAKEPREP_EMR_SERVERLESS_APP_ID", app)
    assert cli.main(["deploy", "emr-serverless", "build-features", "--env", "emr", "--dist",
                     str(dist), "--wait"]) == 0
    assert "emr-serverless run: SUCCESS" in capsys.readouterr().out
    run = sls.list_job_runs(applicationId=app)["jobRuns"][0]
    detail = sls.get_job_run(applicationId=app, jobRunId=run["id"])["jobRun"]
    assert detail["executionRole"] == SERVERLESS_ROLE
    submit = detail["jobDriver"]["sparkSubmit"]
    assert _parse(submit["entryPointArguments"]).job == "build-features"
    conf = dict(a.split("=", 1) for a in shlex.split(submit["sparkSubmitParameters"])
                if a != "--conf")
    base = f"s3://{BUCKET}/lakeprep/artifacts/0.1.0"
    assert conf["spark.archives"] == f"{base}/lakeprep_venv.tar.gz#environment"
    assert conf["spark.emr-serverless.driverEnv.PYSPARK_PYTHON"] == "./environment/bin/python"
    assert conf["spark.emr-serverless.driverEnv.LAKEPREP_PII_SALT_SECRET"] == SECRET
    assert "delta-spark.jar" in conf["spark.jars"]
    # a run that ends badly: --wait reports its state and message and fails
    settings = load_settings("emr")
    submitted = deploy.execute(deploy.plan("emr-serverless", "ingest", settings, dist))
    sls.cancel_job_run(applicationId=app, jobRunId=submitted.ids["run"])
    seen = []
    with pytest.raises(deploy.RunFailed, match="ended CANCELLED"):
        deploy.wait(submitted, seen.append, interval=0)
    assert seen == ["CANCELLED"] and deploy.RunFailed.exit_code != 0


def test_missing_bucket_or_role_names_the_conf_key(env, dist, monkeypatch):
    monkeypatch.delenv("LAKEPREP_GLUE_ROLE_ARN")
    with pytest.raises(ConfigError, match=r"deploy\.glue\.role_arn is not set.*"
                                          r"LAKEPREP_GLUE_ROLE_ARN"):
        deploy.plan("glue", "ingest", load_settings("glue"), dist)
    with pytest.raises(ConfigError, match=r"deploy\.emr\.cluster_id is not set"):
        deploy.plan("emr", "ingest", load_settings("emr"), dist)
    monkeypatch.setenv("LAKEPREP_DATA", "s3://lake/data")  # the local env, moved to S3
    with pytest.raises(ConfigError, match=r"deploy\.bucket is not set"):
        deploy.plan("glue", "ingest", load_settings("local"), dist)


def test_missing_artefact_stops_the_deploy_before_anything_is_created(env, dist, capsys):
    s3, glue = env("s3"), env("glue")
    before = s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0)
    jobs_before = glue.list_jobs()["JobNames"]
    (dist / "run_job.py").unlink()
    assert cli.main(["deploy", "glue", "transform", "--env", "glue", "--dist",
                     str(dist)]) == UsageError.exit_code
    assert "run_job.py: artefact missing" in capsys.readouterr().err
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == before
    assert glue.list_jobs()["JobNames"] == jobs_before


def test_a_secret_value_in_job_env_is_refused(env, dist, tmp_path):
    conf = tmp_path / "conf"
    shutil.copytree(REPO / "conf", conf)
    with (conf / "glue/deploy.yaml").open("a") as f:
        f.write("    LAKEPREP_PII_SALT: oops\n")
    with pytest.raises(ConfigError, match=r"glue/deploy.yaml: deploy.job_env.LAKEPREP_PII_SALT: "
                                          r"a secret value never goes into a job definition"):
        deploy.plan("glue", "ingest", load_settings("glue", conf), dist)
