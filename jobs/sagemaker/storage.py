"""Where channel files go: a local folder or an ``s3://`` prefix, through `pyarrow.fs`.

SageMaker trains on every object under a channel's prefix, so a channel folder must hold the
channel's parts and nothing else: no ``_SUCCESS`` markers, no ``.crc`` files, no stale parts
from an earlier run, and (on S3) no zero-byte "folder" objects.

>>> fs, root = resolve("/tmp/channels/train")
>>> root
'/tmp/channels/train'
"""

from __future__ import annotations

import logging
import os
from typing import Literal

from pyarrow import fs as pafs

from lakeprep.errors import UsageError

log = logging.getLogger(__name__)
Mode = Literal["error", "overwrite"]


def resolve(uri: str, filesystem: pafs.FileSystem | None = None) -> tuple[pafs.FileSystem, str]:
    """Return the filesystem and its path for a local path, ``file://`` or ``s3://`` URI.

    ``filesystem`` overrides the one the URI implies (e.g. an ``S3FileSystem`` with an
    ``endpoint_override``); the path is then the URI without its scheme.
    """
    if "://" not in uri:
        uri = os.path.abspath(uri)
    if filesystem is not None:
        path = uri.split("://", 1)[1] if "://" in uri else uri
        return filesystem, path.rstrip("/")
    fs, path = pafs.FileSystem.from_uri(uri)
    return fs, path.rstrip("/")


def is_local(fs: pafs.FileSystem) -> bool:
    """True for the local filesystem, where folders exist and must be created."""
    return fs.type_name == "local"


def list_files(fs: pafs.FileSystem, root: str) -> list[str]:
    """Every file under ``root``, as paths relative to it (empty when ``root`` is missing)."""
    infos = fs.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
    prefix = root.rstrip("/") + "/"
    return sorted(i.path[len(prefix):] if i.path.startswith(prefix) else i.path
                  for i in infos if i.type == pafs.FileType.File)


def prepare_prefix(fs: pafs.FileSystem, root: str, mode: Mode, uri: str) -> None:
    """Make ``root`` an empty channel folder, or raise `UsageError` if it holds files.

    ``mode="overwrite"`` deletes what is there first, because anything left under the prefix
    would be read by SageMaker as training data.
    """
    if mode not in ("error", "overwrite"):
        raise UsageError(f"write mode must be 'error' or 'overwrite', found {mode!r}")
    existing = list_files(fs, root)
    if existing and mode == "error":
        raise UsageError(
            f"channel location {uri} already holds {len(existing)} file(s) (e.g. "
            f"{existing[0]}); SageMaker would read them as training data: pass mode='overwrite' "
            f"or choose an empty location")
    if existing:
        log.info("overwrite: deleting %d file(s) under %s", len(existing), uri)
        fs.delete_dir_contents(root, missing_dir_ok=True)
    if is_local(fs):
        fs.create_dir(root, recursive=True)


def join_uri(uri: str, name: str) -> str:
    """``join_uri("s3://b/train", "part-00000.csv") == "s3://b/train/part-00000.csv"``."""
    return uri.rstrip("/") + "/" + name
