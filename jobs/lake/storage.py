"""File-system access through Spark's own Hadoop FileSystem, so local paths, s3:// (EMRFS) and
s3a:// behave the same, plus parquet footers read with pyarrow."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pyspark.sql import SparkSession

log = logging.getLogger(__name__)


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
