"""A conf folder from anywhere ``load_settings`` accepts: an ``s3://`` prefix, a ``.zip`` of a
conf folder (local or on S3; Glue's ``--extra-files`` ships files, not folders)."""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lakeprep.aws.clients import client, split_s3
from lakeprep.errors import ConfigError


@contextmanager
def materialize(where: str) -> Iterator[Path]:
    """A local copy of the conf at ``where``, removed on exit."""
    with tempfile.TemporaryDirectory(prefix="lakeprep-conf-") as tmp:
        root = Path(tmp) / "conf"
        if where.endswith(".zip"):
            archive = Path(tmp) / "conf.zip"
            if "://" in where:
                _download(where, archive)
            else:
                archive = Path(where)
                if not archive.is_file():
                    raise ConfigError(f"{where}: conf zip not found")
            _unzip(archive, root, where)
        else:
            _download_prefix(where, root)
        yield root


def _unzip(archive: Path, root: Path, where: str) -> None:
    with zipfile.ZipFile(archive) as z:
        names = z.namelist()
        # `lakeprep package` zips the folder's content (base/, <env>/); a zip of the folder
        # itself (conf/base/...) is accepted too
        prefix = "conf/" if not any(n.startswith("base/") for n in names) else ""
        if not any(n.startswith(prefix + "base/") for n in names):
            raise ConfigError(f"{where}: no base/ folder in the conf zip (found "
                              f"{sorted({n.split('/')[0] for n in names})[:5]})")
        for name in names:
            if name.startswith(prefix) and not name.endswith("/") and ".." not in name:
                target = root / name[len(prefix):]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(z.read(name))


def _download(uri: str, target: Path) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = split_s3(uri)
    try:
        client("s3").download_file(bucket, key, str(target))
    except (ClientError, BotoCoreError) as e:
        raise ConfigError(f"{uri}: cannot read the conf zip: {e}") from None


def _download_prefix(uri: str, root: Path) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, prefix = split_s3(uri)
    prefix = prefix.rstrip("/") + "/"
    s3 = client("s3")
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
        for key in keys:
            if key.endswith((".yaml", ".yml")):
                target = root / key[len(prefix):]
                target.parent.mkdir(parents=True, exist_ok=True)
                s3.download_file(bucket, key, str(target))
    except (ClientError, BotoCoreError) as e:
        raise ConfigError(f"{uri}: cannot read the conf folder: {e}") from None
    root.mkdir(parents=True, exist_ok=True)
