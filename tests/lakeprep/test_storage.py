"""The conf's ``s3:`` block, derived once for Spark's s3a, deltalake and pyarrow (no Spark)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyarrow import fs as pafs

import lakeprep.storage as storage
from lakeprep.config import load_settings
from lakeprep.errors import ConfigError
from lakeprep.storage import S3Access, delta_storage_options, resolve

REPO_CONF = Path(__file__).resolve().parents[2] / "conf"
LOCAL = {"LAKEPREP_S3_ENDPOINT": "http://127.0.0.1:9000", "AWS_REGION": "eu-west-1",
         "LAKEPREP_DATA": "s3://bucket/lake"}


def test_one_s3_block_gives_every_client_the_same_endpoint():
    access = S3Access.from_settings(load_settings("local", REPO_CONF, environ=LOCAL).s3)
    assert access == S3Access("http://127.0.0.1:9000", "eu-west-1", path_style=True)
    hadoop = access.hadoop_conf(environ={"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"})
    assert hadoop == {"fs.s3a.endpoint": "http://127.0.0.1:9000",
                      "fs.s3a.path.style.access": "true",
                      "fs.s3a.connection.ssl.enabled": "false",
                      "fs.s3a.endpoint.region": "eu-west-1",
                      "fs.s3a.access.key": "k", "fs.s3a.secret.key": "s"}
    assert access.delta_options() == {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_ALLOW_HTTP": "true",
        "AWS_REGION": "eu-west-1", "AWS_VIRTUAL_HOSTED_STYLE_REQUEST": "false",
        "conditional_put": "etag"}
    assert access.arrow_filesystem().region == "eu-west-1"


def test_aws_itself_needs_no_endpoint_and_uses_virtual_hosts():
    access = S3Access.from_settings(load_settings("local", REPO_CONF, environ={}).s3)
    assert access == S3Access(None, None, path_style=False)
    assert access.hadoop_conf(environ={}) == {"fs.s3a.path.style.access": "false"}
    assert "AWS_ENDPOINT_URL" not in access.delta_options()


def test_deltalake_gets_s3_options_only_for_s3_tables_and_conf_overrides_win(monkeypatch):
    monkeypatch.setattr(storage, "_s3", S3Access("http://127.0.0.1:9000", None, True))
    assert delta_storage_options("/tmp/lake/orders") == {}
    opts = delta_storage_options("s3://bucket/lake/orders", {"conditional_put": "none"})
    assert opts["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9000"
    assert opts["conditional_put"] == "none"


def test_resolve_uses_the_configured_s3_filesystem(monkeypatch):
    configured = S3Access("http://127.0.0.1:9000", "eu-west-1", True)
    monkeypatch.setattr(storage, "_s3", configured)
    for uri in ("s3://bucket/exports/run-1", "s3a://bucket/exports/run-1/"):
        fs, path = resolve(uri)
        assert isinstance(fs, pafs.S3FileSystem) and fs.region == "eu-west-1"
        assert path == "bucket/exports/run-1"


def test_a_bad_endpoint_names_the_file_and_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"lakeprep.yaml: s3.endpoint: .*expected an "
                                          r"http\(s\)://host:port URL, found 'ftp://x'"):
        load_settings("local", REPO_CONF, environ={"LAKEPREP_S3_ENDPOINT": "ftp://x"})
