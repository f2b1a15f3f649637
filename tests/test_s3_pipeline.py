"""The whole pipeline on an S3 lake (moto server on 127.0.0.1), through the CLI:
generate-sample -> ingest (gates, quarantine) -> build-features -> export -> reproduce ->
lineage, every byte of it in the bucket; and unconfigured S3 access stopped with one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs.cli import main
from lakeprep.config import load_settings
from lakeprep.errors import ConfigError, InputError
from lakeprep.runtime import JobContext
from lakeprep.storage import configure_s3, read_text, write_text
from tests.moto_support import KEYS, make_bucket
from tests.s3_lake import check_lake_in_bucket, objects

REPO_CONF = Path(__file__).resolve().parents[1] / "conf"
BUCKET = "lakeprep-lake"


@pytest.fixture
def endpoint(moto_server):
    """The worker's moto server, with the lake's bucket in it."""
    make_bucket(moto_server, BUCKET)
    return moto_server


@pytest.fixture
def s3_env(monkeypatch, tmp_path, endpoint):
    """The environment a user sets for a local S3 endpoint; the working directory is empty so
    that anything written locally by mistake shows."""
    for key, value in {**KEYS, "LAKEPREP_S3_ENDPOINT": endpoint,
                       "LAKEPREP_PII_SALT": "s3-test-salt"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("LAKEPREP_CONF_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    return endpoint


def test_the_pipeline_runs_on_an_s3_lake(spark, s3_env, monkeypatch, tmp_path):
    """The deltalake engine's run (the delta-spark engine's is the service twin's local
    reference run, tests/twin, checked by the same ``check_lake_in_bucket``)."""
    engine = "deltalake"
    data = f"s3://{BUCKET}/pipeline-{engine}"
    monkeypatch.setenv("LAKEPREP_DATA", data)
    monkeypatch.setenv("LAKEPREP_ENGINE", engine)
    conf = ["--env", "local", "--conf-dir", str(REPO_CONF)]

    assert main(["generate-sample", *conf, "--customers", "40", "--batches", "1"]) == 0
    assert main(["run", "ingest", *conf, "--table", "customers", "--table", "orders",
                 "--table", "web_events"]) == 0
    assert main(["run", "build-features", *conf]) == 0
    assert main(["run", "export", *conf]) == 0

    manifests = [k for k in objects(s3_env, BUCKET, f"pipeline-{engine}/")
                 if k.endswith("/manifest.json")]
    assert len(manifests) == 1, manifests
    export_dir = f"s3://{BUCKET}/{manifests[0].rsplit('/', 1)[0]}"
    assert main(["reproduce", *conf, export_dir]) == 0
    assert main(["lineage", *conf, "customer_features"]) == 0
    assert main(["quality", "docs", *conf]) == 0

    check_lake_in_bucket(s3_env, data, data, export_dir, engine)
    assert list(tmp_path.iterdir()) == [], "nothing may be written to the local disk"


def test_text_files_round_trip_on_s3(spark, s3_env):
    settings = load_settings("local", REPO_CONF)
    configure_s3(spark, settings)
    uri = f"s3://{BUCKET}/docs/index.html"
    write_text(spark, uri, "<h1>Data Docs</h1>\n")
    assert read_text(spark, uri) == "<h1>Data Docs</h1>\n"
    assert objects(s3_env, BUCKET, "docs/") == {"docs/index.html": 19}
    with pytest.raises(InputError, match=r"^cannot write s3://no-such-bucket/x.html: .*\(check "
                                         r"s3.endpoint / LAKEPREP_S3_ENDPOINT, the bucket"):
        write_text(spark, "s3://no-such-bucket/x.html", "x")


def test_s3_without_credentials_names_what_to_set(spark, monkeypatch, tmp_path):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                "LAKEPREP_S3_ENDPOINT"):
        monkeypatch.delenv(key, raising=False)
    # no profile file and no instance metadata: nothing in the AWS chain can answer
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("LAKEPREP_DATA", f"s3://{BUCKET}/nowhere")
    settings = load_settings("local", REPO_CONF)
    with pytest.raises(ConfigError) as e:
        JobContext.start(settings, "ingest", spark=spark)
    message = str(e.value)
    assert "\n" not in message
    assert message.startswith(f"lake.layers.raw is s3://{BUCKET}/nowhere/raw")
    assert "AWS_ACCESS_KEY_ID" in message and "LAKEPREP_S3_ENDPOINT" in message


def test_s3_without_hadoop_aws_names_the_jars(spark, monkeypatch):
    """A Spark without hadoop-aws (pip's pyspark alone): the error says how to get it."""
    import lakeprep.storage as storage

    monkeypatch.setenv("LAKEPREP_DATA", f"s3://{BUCKET}/nowhere")
    hconf = spark.sparkContext._jsc.hadoopConfiguration()
    previous = hconf.get("fs.s3.impl")
    hconf.unset("fs.s3.impl")
    monkeypatch.setattr(storage, "_has_class", lambda spark, name: False)
    try:
        with pytest.raises(ConfigError, match=r"hadoop-aws is not on the classpath\): run "
                                              r"`make jars` or set LAKEPREP_JARS_DIR"):
            configure_s3(spark, load_settings("local", REPO_CONF))
    finally:
        if previous is not None:
            hconf.set("fs.s3.impl", previous)
