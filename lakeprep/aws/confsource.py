"""A conf from where a job finds it: a local folder, an ``s3://`` prefix, or a ``.zip`` of a conf
folder (local or on S3: what ``deploy`` ships with a job). Remote conf is fetched into a scratch
folder and loaded from there, its files named as under the URI.

A zipped conf, as ``deploy`` uploads it (``s3://<bucket>/lakeprep/artifacts/<hash>/conf-emr.zip``
is read the same way, through S3):

>>> import shutil, tempfile
>>> zipped = shutil.make_archive(f"{tempfile.mkdtemp()}/conf-1a2b", "zip",
...                              config.default_conf_dir())
>>> settings = load_settings("local", zipped)
>>> settings.env, settings.conf_dir == zipped
('local', True)
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from lakeprep import config
from lakeprep.aws.clients import client, split_s3
from lakeprep.errors import ConfigError
from lakeprep.uris import is_remote


@contextmanager
def conf_folder(where: str | Path | None) -> Iterator[tuple[Path | None, str | None]]:
    """``(folder to load, name to show)`` for a conf at ``where`` (None: the default conf):
    a remote or zipped conf is fetched into a scratch folder for the length of the block."""
    if where is None or not (is_remote(str(where)) or str(where).endswith(".zip")):
        yield (Path(where) if where is not None else None), None
        return
    with materialize(str(where)) as local:
        yield local, str(where).rstrip("/")


def load_settings(env: str, where: str | Path | None = None,
                  environ: Mapping[str, str] | None = None) -> config.Settings:
    """:func:`lakeprep.config.load_settings` of a conf anywhere (``where``, else
    ``$LAKEPREP_CONF_DIR``, else the local default)."""
    where = where if where is not None else os.environ.get("LAKEPREP_CONF_DIR")
    with conf_folder(where) as (folder, shown):
        return config.load_settings(env, folder, environ, shown_as=shown)


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
