"""The one storage layer: local paths, ``s3://`` and ``s3a://`` for everything lakeprep writes
or lists outside a Delta transaction (raw files, channel files, manifests, models' side files,
validation results, Data Docs, sample data).

Two access paths over the same locations:

- through Spark's own Hadoop FileSystem (``list_files``, ``glob_files``, ``qualified``,
  ``read_text``/``write_text``), on the driver, so that paths are named exactly as Spark names
  them (``input_file_name()``) and the cluster's S3 settings (EMRFS, s3a) apply;
- through ``pyarrow.fs`` (``resolve``, ``list_relative``, ``prepare_prefix``), which also works
  inside executor tasks where there is no JVM gateway (channel writers, checksums).

>>> fs, root = resolve("/tmp/channels/train")
>>> root
'/tmp/channels/train'
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from pyarrow import fs as pafs
from pyspark.sql import SparkSession

from lakeprep.errors import UsageError

log = logging.getLogger(__name__)
Mode = Literal["error", "overwrite"]


@dataclass(frozen=True)
class FileInfo:
    path: str  # fully qualified, as Hadoop gives it (file:/..., s3://...)
    size: int
    modified_ms: int


def _jvm(spark: SparkSession) -> Any:
    jvm = spark.sparkContext._jvm
    assert jvm is not None, "the SparkContext has no JVM gateway (stopped?)"
    return jvm


def _fs(spark: SparkSession, path: str):  # -> (org.apache.hadoop.fs.FileSystem, Path)
    jvm = _jvm(spark)
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    return hpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), hpath


def list_files(spark: SparkSession, folder: str) -> list[FileInfo]:
    """Every file below ``folder`` (recursively), skipping hidden (``.``/``_``) names."""
    fs, root = _fs(spark, folder)
    if not fs.exists(root):
        return []
    it = fs.listFiles(root, True)
    out = []
    while it.hasNext():
        st = it.next()
        name = st.getPath().getName()
        if name.startswith((".", "_")):
            continue
        out.append(FileInfo(st.getPath().toString(), st.getLen(), st.getModificationTime()))
    return sorted(out, key=lambda f: f.path)


def glob_files(spark: SparkSession, pattern: str) -> list[FileInfo]:
    """Files matching a Hadoop glob (``dir/batch_*/*.csv``); folders are expanded recursively."""
    fs, hpattern = _fs(spark, pattern)
    statuses = fs.globStatus(hpattern)
    out: list[FileInfo] = []
    for st in statuses or []:
        if st.isDirectory():
            out += list_files(spark, st.getPath().toString())
        elif not st.getPath().getName().startswith((".", "_")):
            out.append(FileInfo(st.getPath().toString(), st.getLen(), st.getModificationTime()))
    return sorted(set(out), key=lambda f: f.path)


def qualified(spark: SparkSession, path: str) -> str:
    """``path`` as Spark names files under it (``file:/...``, ``s3://...``), not URI-encoded."""
    from urllib.parse import unquote

    fs, hpath = _fs(spark, path)
    uri = unquote(fs.makeQualified(hpath).toUri().toString()).rstrip("/")
    # Spark reports local files as file:/path, Hadoop qualifies them as file:///path
    return "file:/" + uri[len("file:///"):] if uri.startswith("file:///") else uri


def delete_tree(spark: SparkSession, path: str) -> None:
    """Remove ``path`` and all below it; a failure is logged, not raised (best-effort clean-up)."""
    try:
        fs, hpath = _fs(spark, path)
        fs.delete(hpath, True)
    except Exception as e:  # clean-up must never hide the error that caused it
        log.warning("could not remove %s: %s", path, e)


def read_text_head(spark: SparkSession, path: str, max_bytes: int = 65536) -> str:
    """The first line of a (possibly compressed) text file."""
    jvm = _jvm(spark)
    fs, hpath = _fs(spark, path)
    codec = jvm.org.apache.hadoop.io.compress.CompressionCodecFactory(
        spark.sparkContext._jsc.hadoopConfiguration()).getCodec(hpath)
    stream = fs.open(hpath)
    try:
        if codec is not None:
            stream = codec.createInputStream(stream)
        reader = jvm.java.io.BufferedReader(jvm.java.io.InputStreamReader(stream, "UTF-8"))
        line = reader.readLine()
        return (line or "")[:max_bytes]
    finally:
        stream.close()


def parquet_row_counts(paths: Iterable[str], storage_options: dict[str, str] | None = None
                       ) -> dict[str, int]:
    """Rows per parquet file from the footers alone (no data read), for Delta file stats."""
    import pyarrow.parquet as pq
    from pyarrow import fs as pafs

    def count(path: str) -> tuple[str, int | None]:
        try:
            local = path.removeprefix("file://").removeprefix("file:")
            if "://" in local:
                filesystem, inner = pafs.FileSystem.from_uri(local.replace("s3a://", "s3://"))
                with filesystem.open_input_file(inner) as f:
                    return path, pq.read_metadata(f).num_rows
            return path, pq.read_metadata(local).num_rows
        except Exception as e:  # stats are optional in Delta; a missing count is not an error
            log.debug("no row count for %s: %s", path, e)
            return path, None

    paths = list(paths)
    with ThreadPoolExecutor(max_workers=min(16, max(1, len(paths)))) as pool:
        return {p: n for p, n in pool.map(count, paths) if n is not None}


def write_text(spark: SparkSession, path: str, text: str) -> None:
    """Write a small text file (local, s3://, ...) through Hadoop, replacing it."""
    fs, hpath = _fs(spark, path)
    stream = fs.create(hpath, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()


def read_text(spark: SparkSession, path: str) -> str:
    """Read a small text file written by :func:`write_text`."""
    from lakeprep.errors import InputError

    jvm = _jvm(spark)
    fs, hpath = _fs(spark, path)
    if not fs.exists(hpath):
        raise InputError(f"{path}: no such file")
    stream = fs.open(hpath)
    try:
        data = jvm.org.apache.commons.io.IOUtils.toByteArray(stream)
    finally:
        stream.close()
    return bytes(data).decode("utf-8")


def file_checksums(spark: SparkSession, paths: list[str]) -> dict[str, str]:
    """The SHA-256 of each file, read by the executors (one task per file, streamed)."""
    if not paths:
        return {}

    def digest(path: str) -> tuple[str, str]:
        import hashlib

        from pyarrow import fs as pafs

        local = path.removeprefix("file://").removeprefix("file:")
        if "://" in local:
            filesystem, inner = pafs.FileSystem.from_uri(local.replace("s3a://", "s3://"))
        else:
            filesystem, inner = pafs.LocalFileSystem(), local
        h = hashlib.sha256()
        with filesystem.open_input_stream(inner) as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        return path, h.hexdigest()

    rdd = spark.sparkContext.parallelize(paths, min(len(paths), 64))
    return dict(rdd.map(digest).collect())


# pyarrow.fs: usable in executor tasks ----------------------------------------


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


def list_relative(fs: pafs.FileSystem, root: str) -> list[str]:
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
    existing = list_relative(fs, root)
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
