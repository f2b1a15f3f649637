"""`lakeprep deploy` against moto server: what lands in S3 and what the Glue job, EMR step and
EMR Serverless job run carry; the job's arguments go through the real CLI parser; the account is
checked before the first upload and AWS errors are one line. (tests/twin runs what they carry.)"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import botocore.session
import pytest

from jobs import cli
from lakeprep.aws import deploy, runs
from lakeprep.config import load_settings
from lakeprep.errors import AwsError, ConfigError, UsageError

from .conftest import REPO

BUCKET = "lake-bucket"
ROLE = "arn:aws:iam::123456789012:role/lakeprep-glue"
SERVERLESS_ROLE = "arn:aws:iam::123456789012:role/lakeprep-serverless"
SECRET = "prod/lakeprep/pii-salt"
SALT = "the-salt-value-itself"


@pytest.fixture
def env(aws, monkeypatch):
    monkeypatch.setenv("LAKEPREP_BUCKET", BUCKET)
    monkeypatch.setenv("LAKEPREP_GLUE_ROLE_ARN", ROLE)
    monkeypatch.setenv("LAKEPREP_EMR_SERVERLESS_ROLE_ARN", SERVERLESS_ROLE)
    monkeypatch.setenv("LAKEPREP_PII_SALT_SECRET", SECRET)
    monkeypatch.setenv("LAKEPREP_PII_SALT", SALT)
    monkeypatch.setenv("LAKEPREP_DEPLOY_POLL_SECONDS", "0.01")
    monkeypatch.delenv("LAKEPREP_CONF_DIR", raising=False)
    s3 = aws("s3")
    if BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=BUCKET)
    iam = aws("iam")
    for arn in (ROLE, SERVERLESS_ROLE):
        iam.create_role(RoleName=arn.rsplit("/", 1)[1], AssumeRolePolicyDocument="{}")
    return aws


def _parse(argv):
    try:
        return cli.build_parser().parse_args(argv)
    except SystemExit as e:
        pytest.fail(f"the CLI parser rejects {argv}: exit {e.code}")


def _dry_run(capsys, *argv) -> list[dict]:
    cut = argv.index("--") if "--" in argv else len(argv)
    assert cli.main(["deploy", *argv[:cut], "--dry-run", *argv[cut:]]) == 0
    return json.loads(capsys.readouterr().out)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _glue_argv(arguments: dict) -> list[str]:
    """What Glue passes the script: every job parameter as `--NAME value`."""
    namespace: dict = {}
    exec(compile((REPO / "glue_scripts/run_job.py").read_text(), "run_job.py", "exec"),
         namespace)
    argv = [a for k, v in arguments.items() for a in (k, v)]
    return namespace["cli_arguments"](namespace["lakeprep_parameters"](argv))


@pytest.mark.parametrize("job", sorted(cli.JOBS))
def test_dry_run_prints_the_requests_of_every_target(env, dist, capsys, monkeypatch, job):
    monkeypatch.setenv("LAKEPREP_EMR_CLUSTER_ID", "j-TEST")
    monkeypatch.setenv("LAKEPREP_EMR_SERVERLESS_APP_ID", "app-1")
    glue = _dry_run(capsys, "glue", job, "--env", "glue", "--dist", str(dist))
    assert [r["operation"] for r in glue] == ["upload_file"] * 4 + ["create_job", "start_job_run"]
    keys = {r["params"]["Key"] for r in glue[:4]}
    assert f"lakeprep/artifacts/{_sha(dist / 'cli.py')}/cli.py" in keys
    assert any(k.endswith("/conf-glue.zip") for k in keys)
    args = glue[4]["params"]["DefaultArguments"]
    parsed = _parse(_glue_argv(args))
    assert (parsed.command, parsed.job, parsed.env) == ("run", job, "glue")
    assert args["--LAKEPREP_CONF_DIR"].endswith("/conf-glue.zip")

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
        assert SALT not in text and SECRET in text  # by reference only


def _strings(value) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize("target", ["glue", "emr", "emr-serverless"])
def test_no_setting_of_the_deployers_machine_reaches_a_job(env, dist, capsys, monkeypatch,
                                                            target, tmp_path):
    """Every generated argument of every job, against the deployer's local paths and
    environment; and each argument survives the service's own splitting intact."""
    monkeypatch.setenv("LAKEPREP_EMR_CLUSTER_ID", "j-TEST")
    monkeypatch.setenv("LAKEPREP_EMR_SERVERLESS_APP_ID", "app-1")
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    monkeypatch.setenv("LAKEPREP_S3_ENDPOINT", endpoint)
    monkeypatch.setenv("LAKEPREP_JARS_DIR", str(tmp_path / "jars"))
    monkeypatch.chdir(tmp_path)
    from lakeprep.spark import log_to_file

    log_to_file(tmp_path / "logs" / "spark.log")  # a local session's log: not the job's
    deny = {tempfile.gettempdir(), str(Path.home()), str(tmp_path), str(REPO), str(dist),
            sys.prefix, sys.base_prefix, endpoint, SALT, "testing", "log4j2",
            "lakeprep-logs"}
    env = "glue" if target == "glue" else "emr"
    for job in [*sorted(cli.JOBS), "reproduce"]:
        options = ["s3://b/exports/x"] if job == "reproduce" else ["--cutoff", "2024-01-02"]
        requests = _dry_run(capsys, target, job, "--env", env, "--dist", str(dist), "--",
                            *options)
        for r in requests:
            params = {k: v for k, v in r["params"].items() if k != "Filename"}
            for text in _strings(params):
                leaked = sorted(d for d in deny if d and d in text)
                assert not leaked, f"{target} {job}: {leaked} in {text!r}"
        last = requests[-1]["params"]
        if target == "emr-serverless":  # the service splits at whitespace
            tokens = last["jobDriver"]["sparkSubmit"]["sparkSubmitParameters"].split()
            assert tokens[::2] == ["--conf"] * (len(tokens) // 2) and len(tokens) % 2 == 0
            assert all("=" in t for t in tokens[1::2])
            assert _parse(last["jobDriver"]["sparkSubmit"]["entryPointArguments"])
        if target == "glue":
            pairs = requests[-2]["params"]["DefaultArguments"]["--conf"].split(" --conf ")
            assert all("=" in p and not any(c.isspace() for c in p) for p in pairs)
            assert _parse(_glue_argv({**requests[-2]["params"]["DefaultArguments"],
                                      **last.get("Arguments", {})}))


def test_a_value_with_whitespace_is_refused_naming_its_key(env, dist, tmp_path, monkeypatch):
    monkeypatch.setenv("LAKEPREP_EMR_SERVERLESS_APP_ID", "app-1")
    conf = _conf_with(tmp_path, "emr/lakeprep.yaml",
                      "spark:\n  conf:\n    spark.driver.extraJavaOptions: -Da=1 -Db=2\n")
    with pytest.raises(ConfigError, match=r"emr/lakeprep.yaml: spark.conf.spark.driver."
                                          r"extraJavaOptions: .* holds whitespace"):
        deploy.plan("emr-serverless", "ingest", load_settings("emr", conf), dist)


def test_job_options_pass_through_and_are_checked(env, dist, capsys, monkeypatch):
    requests = _dry_run(capsys, "glue", "build-features", "--env", "glue", "--dist",
                        str(dist), "--", "--set", "taxi_tips", "--cutoff", "2019-05-01")
    run = requests[-1]["params"]
    assert json.loads(run["Arguments"]["--LAKEPREP_ARGS"]) == ["--set", "taxi_tips",
                                                               "--cutoff", "2019-05-01"]
    parsed = _parse(_glue_argv({**requests[-2]["params"]["DefaultArguments"],
                                **run["Arguments"]}))
    assert (parsed.feature_set, str(parsed.cutoff)) == ("taxi_tips", "2019-05-01")
    assert cli.main(["deploy", "glue", "export", "--env", "glue", "--dist", str(dist),
                     "--dry-run", "--", "--cutoff", "someday"]) == 2
    assert "not valid job options: argument --cutoff: expected a date" in capsys.readouterr().err
    assert cli.main(["deploy", "glue", "export", "--env", "glue", "--dist", str(dist),
                     "--dry-run", "--", "--env", "local"]) == 2
    assert "--env is set by deploy" in capsys.readouterr().err


def test_glue_deploy_uploads_by_content_creates_the_job_and_waits(env, dist, capsys,
                                                                   monkeypatch):
    s3, glue = env("s3"), env("glue")
    kms = env("kms").create_key()["KeyMetadata"]["KeyId"]
    monkeypatch.setenv("LAKEPREP_KMS_KEY", kms)
    assert cli.main(["deploy", "glue", "ingest", "--env", "glue", "--dist", str(dist),
                     "--wait"]) == 0
    printed = capsys.readouterr().out
    assert "glue run: SUCCEEDED" in printed, printed
    assert "driver logs: CloudWatch Logs /aws-glue/jobs/error" in printed
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    conf = dist / "conf-glue.zip"
    expected = sorted(f"lakeprep/artifacts/{_sha(p)}/{p.name}" for p in (
        dist / "cli.py", dist / "run_job.py", dist / "lakeprep-0.1.0-py3-none-any.whl", conf))
    assert keys == expected
    script = next(k for k in keys if k.endswith("run_job.py"))
    head = s3.head_object(Bucket=BUCKET, Key=script)
    assert head["ServerSideEncryption"] == "aws:kms" and kms in head["SSEKMSKeyId"]
    job = glue.get_job(JobName="lakeprep-ingest-glue")["Job"]
    assert job["Role"] == ROLE and job["GlueVersion"] == "5.1"
    assert job["Command"]["ScriptLocation"] == f"s3://{BUCKET}/{script}"
    args = job["DefaultArguments"]
    assert args["--datalake-formats"] == "delta"
    assert args["--additional-python-modules"].endswith("/lakeprep-0.1.0-py3-none-any.whl")
    assert "--python-modules-installer-option" not in args
    assert args["--LAKEPREP_CONF_DIR"] == f"s3://{BUCKET}/lakeprep/artifacts/{_sha(conf)}/" \
                                          f"conf-glue.zip"
    assert "spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension" in args["--conf"]
    assert args["--LAKEPREP_BUCKET"] == BUCKET and args["--LAKEPREP_PII_SALT_SECRET"] == SECRET
    assert glue.get_tags(ResourceArn="arn:aws:glue:us-east-1:123456789012:job/"
                         "lakeprep-ingest-glue")["Tags"] == {"project": "lakeprep"}
    # the bundle holds the conf the deployer loaded: base/ and glue/, as files
    import zipfile

    names = zipfile.ZipFile(conf).namelist()
    assert "base/lakeprep.yaml" in names and "glue/deploy.yaml" in names
    assert not any(n.startswith(("emr/", "local/")) for n in names)


def test_emr_step_brings_its_python_and_a_redeploy_uploads_only_what_changed(
        env, dist, capsys, monkeypatch):
    emr, s3 = env("emr"), env("s3")
    cluster = emr.run_job_flow(Name="lakeprep", ReleaseLabel="emr-7.5.0",
                               Instances={"MasterInstanceType": "m5.xlarge",
                                          "InstanceCount": 1,
                                          "KeepJobFlowAliveWhenNoSteps": True},
                               JobFlowRole="EMR_EC2_DefaultRole",
                               ServiceRole="EMR_DefaultRole")["JobFlowId"]
    monkeypatch.setenv("LAKEPREP_EMR_CLUSTER_ID", cluster)
    assert cli.main(["deploy", "emr", "export", "--env", "emr", "--dist", str(dist)]) == 0
    first = {o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    step = emr.describe_step(ClusterId=cluster, StepId=emr.list_steps(
        ClusterId=cluster)["Steps"][0]["Id"])["Step"]
    args = step["Config"]["Args"]
    assert step["Config"]["Jar"] == "command-runner.jar"
    assert args[:3] == ["spark-submit", "--deploy-mode", "cluster"]
    archive = args[args.index("--archives") + 1]
    assert archive == f"s3://{BUCKET}/lakeprep/artifacts/" \
                      f"{_sha(dist / 'lakeprep_python.tar.gz')}/lakeprep_python.tar.gz#environment"
    assert "spark.yarn.appMasterEnv.PYSPARK_PYTHON=./environment/bin/python" in args
    assert f"spark.yarn.appMasterEnv.LAKEPREP_PII_SALT_SECRET={SECRET}" in args
    entry = next(a for a in args if a.endswith("/cli.py"))
    assert _parse(args[args.index(entry) + 1:]).job == "export"
    # new code: a new wheel key, the same cluster; unchanged artefacts are not sent again
    (dist / "cli.py").write_text((dist / "cli.py").read_text() + "\n# changed\n")
    assert cli.main(["deploy", "emr", "export", "--env", "emr", "--dist", str(dist)]) == 0
    second = {o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert set(second) - set(first) == {f"lakeprep/artifacts/{_sha(dist / 'cli.py')}/cli.py"}
    assert {k: second[k] for k in first} == first
    steps = emr.list_steps(ClusterId=cluster)["Steps"]
    new = emr.describe_step(ClusterId=cluster, StepId=steps[0]["Id"])["Step"]["Config"]["Args"]
    assert f"s3://{BUCKET}/lakeprep/artifacts/{_sha(dist / 'cli.py')}/cli.py" in new


def test_emr_serverless_run_carries_the_archive_and_a_cancelled_run_is_final(
        env, dist, capsys, monkeypatch):
    sls = env("emr-serverless")
    app = sls.create_application(name="lakeprep", releaseLabel="emr-7.5.0",
                                 type="SPARK")["applicationId"]
    monkeypatch.setenv("LAKEPREP_EMR_SERVERLESS_APP_ID", app)
    assert cli.main(["deploy", "emr-serverless", "build-features", "--env", "emr", "--dist",
                     str(dist), "--wait"]) == 0
    printed = capsys.readouterr().out
    assert "emr-serverless run: SUCCESS" in printed
    run = sls.list_job_runs(applicationId=app)["jobRuns"][0]
    detail = sls.get_job_run(applicationId=app, jobRunId=run["id"])["jobRun"]
    assert f"driver logs: s3://{BUCKET}/lakeprep/logs/applications/{app}/jobs/{run['id']}/" \
           f"SPARK_DRIVER/" in printed
    assert detail["executionRole"] == SERVERLESS_ROLE
    submit = detail["jobDriver"]["sparkSubmit"]
    assert _parse(submit["entryPointArguments"]).job == "build-features"
    tokens = submit["sparkSubmitParameters"].split()
    conf = dict(t.split("=", 1) for t in tokens[1::2])
    assert conf["spark.archives"].endswith("/lakeprep_python.tar.gz#environment")
    assert conf["spark.emr-serverless.driverEnv.PYSPARK_PYTHON"] == "./environment/bin/python"
    assert conf["spark.emr-serverless.driverEnv.LAKEPREP_PII_SALT_SECRET"] == SECRET
    assert conf["spark.emr-serverless.driverEnv.LAKEPREP_CONF_DIR"].endswith("/conf-emr.zip")
    assert "delta-spark.jar" in conf["spark.jars"]
    # a run that ends badly: --wait reports its state and message and fails
    settings = load_settings("emr")
    submitted = deploy.execute(deploy.plan("emr-serverless", "ingest", settings, dist))
    sls.cancel_job_run(applicationId=app, jobRunId=submitted.ids["run"])
    seen = []
    with pytest.raises(runs.RunFailed, match="ended CANCELLED"):
        runs.wait(submitted, seen.append, interval=0)
    assert seen == ["CANCELLED"] and runs.RunFailed.exit_code != 0


@pytest.mark.parametrize("target,service,shape", [("glue", "glue", "JobRunState"),
                                                  ("emr", "emr", "StepState"),
                                                  ("emr-serverless", "emr-serverless",
                                                   "JobRunState")])
def test_every_state_of_every_service_is_known_and_the_final_ones_end_the_wait(
        target, service, shape):
    documented = set(botocore.session.get_session().get_service_model(service)
                     .shape_for(shape).enum)
    ok, failed, going = runs.STATES[target]
    assert ok | failed | going == documented and not (ok & failed) and not (going & (ok |
                                                                                       failed))
    if target == "glue":
        assert "EXPIRED" in failed and "ERROR" in failed and "TIMEOUT" in failed


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


def _deploy_fails(capsys, env, *argv) -> str:
    s3 = env("s3")
    before = s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0)
    code = cli.main(["deploy", *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == before, "nothing uploaded"
    return err


def test_preflight_stops_before_the_first_upload_with_one_line(env, dist, capsys, monkeypatch,
                                                               tmp_path):
    glue = ["glue", "ingest", "--env", "glue", "--dist", str(dist)]
    monkeypatch.setenv("LAKEPREP_BUCKET", "no-such-bucket")
    assert "bucket 'no-such-bucket' does not exist" in _deploy_fails(capsys, env, *glue)
    monkeypatch.setenv("LAKEPREP_BUCKET", BUCKET)
    monkeypatch.setenv("LAKEPREP_GLUE_ROLE_ARN", "arn:aws:iam::123456789012:role/nobody")
    assert "deploy.glue.role_arn: no IAM role" in _deploy_fails(capsys, env, *glue)
    monkeypatch.setenv("LAKEPREP_GLUE_ROLE_ARN", ROLE)
    monkeypatch.setenv("LAKEPREP_EMR_SERVERLESS_APP_ID", "00nosuchapp")
    assert "no EMR Serverless application '00nosuchapp'" in _deploy_fails(
        capsys, env, "emr-serverless", "ingest", "--env", "emr", "--dist", str(dist))
    monkeypatch.setenv("LAKEPREP_EMR_CLUSTER_ID", "j-NOSUCH")
    assert "no EMR cluster 'j-NOSUCH'" in _deploy_fails(
        capsys, env, "emr", "ingest", "--env", "emr", "--dist", str(dist))
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    assert "no AWS region: set AWS_REGION" in _deploy_fails(capsys, env, *glue)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    s3 = env("s3")  # the test's own client keeps its keys
    before = s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0)
    assert cli.main(["deploy", *glue]) == 2
    assert "no AWS credentials: set AWS_ACCESS_KEY_ID" in capsys.readouterr().err
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == before
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    assert cli.main(["deploy", *glue]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot reach sts at http://127.0.0.1:9" in err, err


def test_an_aws_error_after_the_uploads_is_one_line_saying_what_was_uploaded(
        env, dist, capsys, monkeypatch):
    from lakeprep.aws import preflight

    monkeypatch.setattr(preflight, "check", lambda plan, settings: "")  # as if it changed since
    monkeypatch.setenv("LAKEPREP_EMR_SERVERLESS_APP_ID", "00gone")
    code = cli.main(["deploy", "emr-serverless", "ingest", "--env", "emr", "--dist", str(dist),
                     "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == AwsError.exit_code == 4 and len(err.splitlines()) == 1, err
    assert err.startswith("error: emr-serverless StartJobRun: ResourceNotFoundException")
    assert f"uploaded s3://{BUCKET}/lakeprep/artifacts/" in err and "cli.py" in err


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


def _conf_with(tmp_path: Path, file: str, added: str) -> Path:
    """A copy of the repo's conf with ``added`` appended to ``file``."""
    import shutil

    conf = tmp_path / "conf"
    shutil.copytree(REPO / "conf", conf)
    with (conf / file).open("a") as f:
        f.write(added)
    return conf


def test_a_secret_value_in_job_env_is_refused(env, dist, tmp_path):
    conf = _conf_with(tmp_path, "glue/deploy.yaml", "    LAKEPREP_PII_SALT: oops\n")
    with pytest.raises(ConfigError, match=r"glue/deploy.yaml: deploy.job_env.LAKEPREP_PII_SALT: "
                                          r"a secret value never goes into a job definition"):
        deploy.plan("glue", "ingest", load_settings("glue", conf), dist)


def test_a_failed_runs_tail_comes_from_the_log_that_holds_the_jobs_error(aws):
    """Under spark-submit the Python driver's error stream is merged into its output: the
    job's `error: ...` is in stdout.gz while stderr.gz holds Spark's log; Glue's may be in
    either group. The tail shows the one with the job's error, wherever it is first listed."""
    import gzip

    s3 = aws("s3")
    s3.create_bucket(Bucket=BUCKET)
    jvm = "\n".join(f"12:00:{i:02d} WARN TaskSetManager: lost task {i}" for i in range(30))
    job = "INFO lakeprep.runtime: run x\nerror: s3://b/raw/orders: no such file\n"
    for name, text in (("stderr.gz", jvm), ("stdout.gz", job)):
        s3.put_object(Bucket=BUCKET, Key=f"logs/run/{name}", Body=gzip.compress(text.encode()))
    folder = f"s3://{BUCKET}/logs/run/"
    for order in (("stdout.gz", "stderr.gz"), ("stderr.gz", "stdout.gz")):
        tail = runs.DriverLogs(folder, tuple(folder + n for n in order)).tail("us-east-1")
        assert tail == job.splitlines()
    # no job error anywhere: the first log that holds anything, its last lines
    only_jvm = runs.DriverLogs(folder, (f"{folder}missing.gz", f"{folder}stderr.gz"))
    assert only_jvm.tail("us-east-1", lines=3) == jvm.splitlines()[-3:]
    logs = aws("logs")
    now = int(time.time() * 1000)  # CloudWatch Logs drops events older than 14 days
    for group, lines in (("/aws-glue/jobs/error", jvm.splitlines()),
                         ("/aws-glue/jobs/output", job.splitlines())):
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="jr_1")
        logs.put_log_events(logGroupName=group, logStreamName="jr_1", logEvents=[
            {"timestamp": now + i, "message": m} for i, m in enumerate(lines)])
    glue = runs.driver_logs(deploy.Submitted("glue", {"glue job": "j", "run": "jr_1"}))
    assert glue is not None and glue.tail("us-east-1") == job.splitlines()
