"""Every AWS submission `lakeprep deploy` makes, executed: the twins of Glue, EMR and EMR
Serverless (tests/twin/services.py) run the four jobs on the standalone cluster with the lake
on the moto server's S3, and every table version and every channel record equals a local run
of the same jobs on the same raw files."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import boto3
import pytest

from jobs.cli import main
from tests.moto_support import KEYS, make_bucket

from . import compare
from .cluster import hidden_from_nodes, isolated

REPO = Path(__file__).resolve().parents[2]
CONF = REPO / "conf"
SECRET, SALT = "lakeprep/pii-salt", "twin-test-salt"
ACCOUNT = "123456789012"
# (job, its options after `--`): the S3 pipeline of tests/test_s3_pipeline.py
JOBS = [("ingest", ["--table", "customers", "--table", "orders", "--table", "web_events"]),
        ("build-features", ["--set", "customer"]),
        ("export", [])]
ENV = {"glue": "glue", "emr": "emr", "emr-serverless": "emr"}


def _client(endpoint: str, service: str):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _export_dir(endpoint: str, bucket: str) -> str:
    manifests = [k for k in compare.keys(endpoint, bucket, "exports/")
                 if k.endswith("/manifest.json")]
    assert len(manifests) == 1, manifests
    return f"s3://{bucket}/{manifests[0].rsplit('/', 1)[0]}"


def _secret(endpoint: str) -> None:
    sm = _client(endpoint, "secretsmanager")
    try:
        sm.create_secret(Name=SECRET, SecretString=SALT)
    except sm.exceptions.ResourceExistsException:
        pass


@pytest.fixture(scope="module")
def reference(moto_server, tmp_path_factory, spark):
    """The raw sample files and a local run of the jobs on them (the test's own Spark session,
    `--env emr`): its tables and channels, to compare each twin's with."""
    bucket = "twin-reference"
    make_bucket(moto_server, bucket)
    _secret(moto_server)
    env = {**KEYS, "AWS_ENDPOINT_URL": moto_server, "LAKEPREP_S3_ENDPOINT": moto_server,
           "LAKEPREP_BUCKET": bucket}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        mp.delenv("LAKEPREP_PII_SALT", raising=False)  # the salt comes from the secret
        mp.chdir(tmp_path_factory.mktemp("reference"))
        conf = ["--env", "emr", "--conf-dir", str(CONF)]
        assert main(["generate-sample", *conf, "--customers", "30", "--batches", "1"]) == 0
        for job, options in JOBS:
            assert main(["run", job, *conf, *options]) == 0, job
        assert main(["reproduce", _export_dir(moto_server, bucket), *conf]) == 0
    raw = {k: _client(moto_server, "s3").get_object(Bucket=bucket, Key=k)["Body"].read()
           for k in compare.keys(moto_server, bucket, "raw/")}
    return {"bucket": bucket, "raw": raw,
            "tables": compare.tables(moto_server, bucket),
            "channels": compare.channels(moto_server, bucket)}


def _account(endpoint: str, target: str, bucket: str, monkeypatch, twin) -> None:
    """The AWS resources a user has before deploying (bucket, role, cluster or application)
    and the deployer's environment: the service APIs go to the twin, the rest to moto."""
    make_bucket(endpoint, bucket)
    _secret(endpoint)
    iam = _client(endpoint, "iam")
    role = f"lakeprep-{target}"
    try:
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action":
                                                    "sts:AssumeRole", "Principal": {
                                                        "Service": "glue.amazonaws.com"}}]}))
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    arn = f"arn:aws:iam::{ACCOUNT}:role/{role}"
    for k, v in {**KEYS, "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint,
                 "AWS_ENDPOINT_URL_GLUE": twin.url, "AWS_ENDPOINT_URL_EMR": twin.url,
                 "AWS_ENDPOINT_URL_EMR_SERVERLESS": twin.url, "LAKEPREP_BUCKET": bucket,
                 "LAKEPREP_GLUE_ROLE_ARN": arn, "LAKEPREP_EMR_SERVERLESS_ROLE_ARN": arn,
                 "LAKEPREP_DEPLOY_POLL_SECONDS": "1"}.items():
        monkeypatch.setenv(k, v)
    for k in ("LAKEPREP_PII_SALT", "LAKEPREP_S3_ENDPOINT", "LAKEPREP_CONF_DIR"):
        monkeypatch.delenv(k, raising=False)
    if target == "emr":
        cluster = _client(endpoint, "emr").run_job_flow(
            Name="lakeprep", ReleaseLabel="emr-7.5.0", LogUri=f"s3://{bucket}/emr-logs/",
            Instances={"MasterInstanceType": "m5.xlarge", "InstanceCount": 1,
                       "KeepJobFlowAliveWhenNoSteps": True},
            JobFlowRole="EMR_EC2_DefaultRole", ServiceRole="EMR_DefaultRole")["JobFlowId"]
        monkeypatch.setenv("LAKEPREP_EMR_CLUSTER_ID", cluster)
    if target == "emr-serverless":
        app = _client(endpoint, "emr-serverless").create_application(
            name="lakeprep", releaseLabel="emr-7.5.0", type="SPARK")["applicationId"]
        monkeypatch.setenv("LAKEPREP_EMR_SERVERLESS_APP_ID", app)


def _deploy(capsys, target: str, job: str, dist: Path, options: list[str]) -> tuple[int, str,
                                                                                    str]:
    argv = ["deploy", target, job, "--env", ENV[target], "--conf-dir", str(CONF), "--dist",
            str(dist), "--wait", *(["--", *options] if options else [])]
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("target", ["emr-serverless", "emr", "glue"])
def test_the_twin_runs_the_four_jobs_like_a_local_run(target, reference, twin, twin_dist,
                                                      moto_server, monkeypatch, capsys):
    bucket = f"twin-{target}"
    _account(moto_server, target, bucket, monkeypatch, twin)
    s3 = _client(moto_server, "s3")
    for key, body in reference["raw"].items():  # the same raw files as the local run
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    ran = []
    for job, options in [*JOBS, ("reproduce", None)]:
        if options is None:
            options = [_export_dir(moto_server, bucket)]
        code, out, err = _deploy(capsys, target, job, twin_dist, options)
        run = list(twin.runs.values())[-1]
        assert code == 0, f"{target} {job}: exit {code}\n{err}\n--- driver ---\n{run.stderr}"
        ran.append(run)
        assert "driver logs: " in out and "run: " in out
    # what ran is what deploy sent: the job's options reached the job, on the cluster
    argv = ran[1].argv
    options = json.loads(argv[argv.index("--LAKEPREP_ARGS") + 1]) if target == "glue" else \
        argv[-2:]
    assert options == ["--set", "customer"]
    assert all("spark://127.0.0.1" in " ".join(r.argv) for r in ran)
    if target == "glue":  # Glue's pip installed the wheel and nothing of Spark
        assert any(p.startswith("lakeprep") for p in ran[0].installed), ran[0].installed
        assert not {p.split("-")[0] for p in ran[0].installed} & {"pyspark", "delta", "py4j"}
    assert compare.tables(moto_server, bucket) == reference["tables"]
    assert compare.channels(moto_server, bucket) == reference["channels"]
    assert set(reference["tables"]) >= {"lake/bronze/customers", "lake/bronze/orders",
                                        "lake/features/customer_features"}
    assert sum(sum(c.values()) for c in reference["channels"].values()) > 0


def test_a_job_failing_in_the_twin_fails_the_deploy_with_its_error_line(
        twin, twin_dist, moto_server, monkeypatch, capsys):
    bucket = "twin-failing"
    _account(moto_server, "emr-serverless", bucket, monkeypatch, twin)
    code, out, err = _deploy(capsys, "emr-serverless", "export", twin_dist, [])
    assert code != 0
    run = list(twin.runs.values())[-1]
    assert "emr-serverless run: FAILED" in out
    assert "error: no export" in run.stderr or "error:" in run.stderr, \
        f"{run.argv}\n--- driver ---\n{run.stderr[-6000:]}"
    lines = err.strip().splitlines()
    assert lines[-1].startswith("error: emr-serverless run ") and " ended FAILED: error: " in \
        lines[-1], err
    assert run.message in lines[-1]
    # the driver's last lines, read back from the run's S3 monitoring location
    assert any(line.startswith("  |") and "error:" in line for line in lines), err
    assert f"s3://{bucket}/lakeprep/logs/applications/" in out


def test_the_archive_runs_where_the_builders_python_does_not_exist(twin_dist, tmp_path):
    target = tmp_path / "environment"
    target.mkdir()
    with tarfile.open(twin_dist / "lakeprep_python.tar.gz") as tar:
        tar.extractall(target, filter="tar")
    hide = hidden_from_nodes()
    assert Path(sys.base_prefix) in hide
    python = target / "bin" / "python"
    linked = subprocess.run(isolated(["ldd", str(python)], hide), capture_output=True,
                            text=True, check=True).stdout
    libpython = next(line for line in linked.splitlines() if "libpython" in line)
    assert f"=> {target}/bin/../lib/libpython" in libpython, linked
    assert sys.base_prefix not in linked and "not found" not in linked, linked
    probe = ("import sys, ssl, sqlite3, lakeprep, jobs.cli, deltalake, pyarrow, "
             "great_expectations, importlib.util as u; "
             "print(sys.prefix, sys.base_prefix, u.find_spec('delta') is not None)")
    done = subprocess.run(isolated([str(python), "-c", probe], hide), capture_output=True,
                          text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    prefix, base, has_delta = done.stdout.split()
    assert prefix == base == str(target) and has_delta == "True"
    assert not (target / "pyvenv.cfg").exists()
    assert not list((target / "lib").glob("python3.11/site-packages/pyspark"))
