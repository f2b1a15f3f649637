"""Conf from the wheel, from an s3:// prefix and from a conf zip (moto server)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile

import pytest

from lakeprep.aws.confsource import load_settings
from lakeprep.aws.package import build
from lakeprep.errors import ConfigError

from .conftest import REPO

BUCKET = "conf-bucket"


def _upload_conf(s3, prefix: str) -> list[str]:
    keys = []
    for path in sorted((REPO / "conf").rglob("*.yaml")):
        key = f"{prefix}/{path.relative_to(REPO / 'conf')}"
        s3.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())
        keys.append(key)
    return keys


@pytest.fixture
def s3(aws):
    client = aws("s3")
    if BUCKET not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket=BUCKET)
    return client


def test_conf_from_an_s3_prefix_equals_the_local_conf(s3):
    _upload_conf(s3, "conf")
    remote = load_settings("local", f"s3://{BUCKET}/conf")
    local = load_settings("local", REPO / "conf")
    assert remote.conf_hash == local.conf_hash
    assert sorted(remote.tables) == sorted(local.tables)
    assert remote.conf_dir == f"s3://{BUCKET}/conf"
    assert remote.where("lake", "layers") == f"s3://{BUCKET}/conf/local/lakeprep.yaml"


def test_conf_zip_on_s3_and_errors_name_the_remote_file(s3):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for path in sorted((REPO / "conf").rglob("*.yaml")):
            z.write(path, str(path.relative_to(REPO / "conf")))
    s3.put_object(Bucket=BUCKET, Key="bundles/conf.zip", Body=buf.getvalue())
    settings = load_settings("local", f"s3://{BUCKET}/bundles/conf.zip")
    assert settings.conf_hash == load_settings("local", REPO / "conf").conf_hash
    _upload_conf(s3, "broken")
    s3.put_object(Bucket=BUCKET, Key="broken/local/extra.yaml", Body=b"export: {formts: [csv]}\n")
    with pytest.raises(ConfigError, match=rf"s3://{BUCKET}/broken/local/extra.yaml: .*export"):
        load_settings("local", f"s3://{BUCKET}/broken")


def test_a_missing_s3_conf_says_where_it_looked(s3):
    with pytest.raises(ConfigError, match=rf"s3://{BUCKET}/nothing-here/base: configuration "
                                          r"folder not found"):
        load_settings("local", f"s3://{BUCKET}/nothing-here")


def test_the_wheel_carries_the_conf_and_its_conf_resolves_without_a_checkout(tmp_path):
    report = build(["glue"], tmp_path / "dist")
    assert {a.name for a in report.artefacts} == {"wheel", "cli.py", "run_job.py"}
    wheel = next((tmp_path / "dist").glob("lakeprep-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        z.extractall(tmp_path / "site")
    shipped = {f"conf/{p.relative_to(REPO / 'conf')}" for p in (REPO / "conf").rglob("*.yaml")}
    assert shipped <= names and "lakeprep/aws/deploy.py" in names
    # the unpacked wheel alone on the path, run from an empty folder: conf comes from the wheel
    empty = tmp_path / "empty"
    empty.mkdir()
    code = ("from lakeprep.config import load_settings; s = load_settings('local'); "
            "print(s.conf_dir, len(s.tables))")
    env = {k: v for k, v in os.environ.items() if k != "LAKEPREP_CONF_DIR"}
    env["PYTHONPATH"] = str(tmp_path / "site")
    done = subprocess.run([sys.executable, "-c", code], cwd=empty, env=env,
                          capture_output=True, text=True, check=True)
    conf_dir, tables = done.stdout.split()
    assert conf_dir == str(tmp_path / "site" / "conf") and int(tables) == len(
        load_settings("local", REPO / "conf").tables)


def test_deploy_settings_leave_the_conf_hash_alone(monkeypatch):
    monkeypatch.setenv("LAKEPREP_BUCKET", "one")
    first = load_settings("glue")
    monkeypatch.setenv("LAKEPREP_GLUE_ROLE_ARN", "arn:aws:iam::123456789012:role/other")
    monkeypatch.setenv("LAKEPREP_KMS_KEY", "key-1")
    second = load_settings("glue")
    assert second.deploy.kms_key == "key-1" and second.conf_hash == first.conf_hash
