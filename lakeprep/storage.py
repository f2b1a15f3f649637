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

import contextlib
import fcntl
import functools
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pyarrow import fs as pafs
from pyspark.sql import SparkSession

from lakeprep.errors import ConfigError, InputError, UsageError
from lakeprep.uris import is_s3, local_path

if TYPE_CHECKING:
    from lakeprep.config import S3Settings, Settings

log = logging.getLogger(__name__)
Mode = Literal["error", "overwrite"]
F = TypeVar("F", bound=Callable[..., Any])
_S3A = "org.apache.hadoop.fs.s3a.S3AFileSystem"


# S3: one set of settings for Spark (s3a), deltalake and pyarrow -----------------------------


@dataclass(frozen=True)
class S3Access:
    """How this process reaches S3, from the conf's ``s3:`` block; every client derives its own
    settings from it, so Spark, deltalake and pyarrow always talk to the same endpoint.

    Credentials are not part of it: each client takes them from the standard AWS chain
    (environment, profile, instance role). ``hadoop_conf`` passes keys found in this process's
    environment on to the JVM, whose environment was fixed when it started.

    >>> S3Access("http://127.0.0.1:9000", "us-east-1", True).delta_options()["AWS_ALLOW_HTTP"]
    'true'
    """

    endpoint: str | None = None
    region: str | None = None
    path_style: bool = False

    @classmethod
    def from_settings(cls, s3: S3Settings) -> S3Access:
        path_style = s3.path_style if s3.path_style is not None else s3.endpoint is not None
        return cls(s3.endpoint, s3.region, path_style)

    def hadoop_conf(self, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
        """``fs.s3a.*`` settings for Spark's s3a (hadoop-aws); ``s3://`` maps to it elsewhere."""
        conf = {"fs.s3a.path.style.access": str(self.path_style).lower()}
        if self.endpoint:
            conf["fs.s3a.endpoint"] = self.endpoint
            conf["fs.s3a.connection.ssl.enabled"] = str(
                self.endpoint.startswith("https://")).lower()
        if self.region:
            conf["fs.s3a.endpoint.region"] = self.region
        if environ.get("AWS_ACCESS_KEY_ID") and environ.get("AWS_SECRET_ACCESS_KEY"):
            conf["fs.s3a.access.key"] = environ["AWS_ACCESS_KEY_ID"]
            conf["fs.s3a.secret.key"] = environ["AWS_SECRET_ACCESS_KEY"]
            if environ.get("AWS_SESSION_TOKEN"):
                conf["fs.s3a.session.token"] = environ["AWS_SESSION_TOKEN"]
                conf["fs.s3a.aws.credentials.provider"] = (
                    "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider")
        return conf

    def client(self) -> Any:
        """A boto3 S3 client on this endpoint (credentials from the standard AWS chain)."""
        from lakeprep.aws.clients import client

        return client("s3", self.region, self.endpoint)

    def delta_options(self) -> dict[str, str]:
        """``storage_options`` for deltalake (delta-rs) on S3.

        Commits use S3's conditional writes (``If-None-Match``; AWS S3, MinIO and moto have
        them), so two writers can never both create the same log entry: no DynamoDB lock or
        ``AWS_S3_ALLOW_UNSAFE_RENAME`` is needed. ``lake.storage_options`` overrides any key.
        """
        opts = {"conditional_put": "etag",
                "AWS_VIRTUAL_HOSTED_STYLE_REQUEST": str(not self.path_style).lower()}
        if self.endpoint:
            opts["AWS_ENDPOINT_URL"] = self.endpoint
            opts["AWS_ALLOW_HTTP"] = str(self.endpoint.startswith("http://")).lower()
        if self.region:
            opts["AWS_REGION"] = self.region
        return opts

    def arrow_filesystem(self, environ: Mapping[str, str] = os.environ) -> pafs.S3FileSystem:
        """A pyarrow ``S3FileSystem`` (picklable: executor tasks get it from the driver, with
        the keys of the driver's environment when it has them, as ``hadoop_conf`` does)."""
        kwargs: dict[str, Any] = {"force_virtual_addressing": not self.path_style}
        if environ.get("AWS_ACCESS_KEY_ID") and environ.get("AWS_SECRET_ACCESS_KEY"):
            kwargs.update(access_key=environ["AWS_ACCESS_KEY_ID"],
                          secret_key=environ["AWS_SECRET_ACCESS_KEY"],
                          session_token=environ.get("AWS_SESSION_TOKEN"))
        if self.endpoint:
            scheme, host = self.endpoint.split("://", 1)
            kwargs.update(endpoint_override=host, scheme=scheme)
        if self.region:
            kwargs["region"] = self.region
        return pafs.S3FileSystem(**kwargs)


_s3 = S3Access()


def s3_access() -> S3Access:
    """The S3 settings this process uses (set from conf by :func:`configure_s3`)."""
    return _s3


def delta_storage_options(location: str, extra: Mapping[str, str] | None = None
                          ) -> dict[str, str]:
    """deltalake's ``storage_options`` for ``location``: the S3 ones, then ``extra``."""
    return {**(_s3.delta_options() if is_s3(location) else {}), **(extra or {})}


def configure_s3(spark: SparkSession, settings: Settings) -> S3Access:
    """Make ``settings.s3`` the S3 access of this process and of ``spark``'s Hadoop conf, and
    check that the ``s3://`` locations the conf names can be reached; an error names what to
    set, before any Spark job runs into it.

    Outside EMR and Glue (whose ``s3://`` is EMRFS), ``s3://`` is served by s3a (hadoop-aws).
    """
    global _s3
    _s3 = S3Access.from_settings(settings.s3)
    where = next(((key, loc) for key, loc in _conf_locations(settings) if is_s3(loc)), None)
    hconf = spark.sparkContext._jsc.hadoopConfiguration()  # type: ignore[union-attr]
    for key, value in _s3.hadoop_conf().items():
        hconf.set(key, value)
    impl = hconf.get("fs.s3.impl")
    has_s3a = _has_class(spark, _S3A)
    # not EMRFS: s3:// through s3a, as s3a:// is - whatever the conf's own locations are, since
    # a command may be given an s3:// path the conf does not name (an export, --out)
    if impl is None and has_s3a:
        hconf.set("fs.s3.impl", _S3A)
        hconf.set("fs.AbstractFileSystem.s3.impl", "org.apache.hadoop.fs.s3a.S3A")
    if where is None:
        return _s3
    key, loc = where
    if not has_s3a:
        if impl is None:
            raise ConfigError(
                f"{key} is {loc}, but this Spark has no S3 filesystem (hadoop-aws is not on the "
                f"classpath): run `make jars` or set LAKEPREP_JARS_DIR to the folder holding "
                f"hadoop-aws-3.3.4.jar and aws-java-sdk-bundle (EMR and Glue have S3 built in)")
        return _s3
    if impl in (None, _S3A):  # EMR and Glue bring their own credentials; elsewhere, check
        if not _has_credentials():
            raise ConfigError(
                f"{key} is {loc}, but no AWS credentials were found: set AWS_ACCESS_KEY_ID and "
                f"AWS_SECRET_ACCESS_KEY (or AWS_PROFILE); for a local S3 endpoint also set "
                f"LAKEPREP_S3_ENDPOINT (s3.endpoint in conf/<env>/lakeprep.yaml)")
    return _s3


def _conf_locations(settings: Settings) -> list[tuple[str, str]]:
    out = [(f"lake.layers.{k}", v) for k, v in settings.lake.layers.items()]
    out.append(("lake.system", settings.lake.system))
    out += [(f"tables.{t.name}.location", t.location) for t in settings.tables.values()]
    return out


def _has_class(spark: SparkSession, name: str) -> bool:
    jvm = _jvm(spark)
    try:
        jvm.java.lang.Class.forName(name, False,
                                    jvm.Thread.currentThread().getContextClassLoader())
        return True
    except Exception:  # py4j wraps ClassNotFoundException
        return False


def _has_credentials() -> bool:
    """True when the standard AWS chain (environment, profile, container or instance role)
    yields credentials."""
    try:
        import botocore.session

        return botocore.session.get_session().get_credentials() is not None
    except Exception as e:  # a broken profile file: report it as missing credentials
        log.debug("AWS credential lookup failed: %s", e)
        return False


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


def _reported(action: str) -> Callable[[F], F]:
    """Turn a JVM storage error of ``fn(spark, path, ...)`` into one line naming the path."""
    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def call(spark: SparkSession, path: str, *args: Any, **kwargs: Any) -> Any:
            from py4j.protocol import Py4JJavaError

            try:
                return fn(spark, path, *args, **kwargs)
            except Py4JJavaError as e:
                cause = str(e.java_exception.toString()).strip().splitlines()[0]
                hint = (" (check s3.endpoint / LAKEPREP_S3_ENDPOINT, the bucket and the AWS "
                        "credentials)" if is_s3(path) else "")
                raise InputError(f"cannot {action} {path}: {cause}{hint}") from None

        return call  # type: ignore[return-value]

    return wrap


@_reported("list")
def list_files(spark: SparkSession, folder: str) -> list[FileInfo]:
    """Every file below ``folder`` (recursively), skipping hidden (``.``/``_``) names."""
    fs, root = _fs(spark, folder)
    if not fs.exists(root):
        return []
    out = [FileInfo(st.getPath().toString(), st.getLen(), st.getModificationTime())
           for st in _statuses(fs, root) if not st.getPath().getName().startswith((".", "_"))]
    return sorted(out, key=lambda f: f.path)


def _statuses(fs: Any, root: Any) -> Iterator[Any]:
    """Every file's status below ``root``. On S3 one flat listing (``listFiles``: a request per
    1,000 keys); on the local file system a walk with ``listStatus``, because ``listFiles``
    builds a ``LocatedFileStatus`` per file, which reads the file's permissions by forking a
    shell when Hadoop's native library is absent: measured on 800 files, 4.00 s against 0.61 s
    (README, Benchmarks)."""
    if fs.getScheme() != "file":
        it = fs.listFiles(root, True)
        while it.hasNext():
            yield it.next()
        return
    for st in fs.listStatus(root):
        if st.isDirectory():
            yield from _statuses(fs, st.getPath())
        else:
            yield st


@_reported("list")
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


@_reported("read")
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


def parquet_row_counts(paths: Iterable[str]) -> dict[str, int]:
    """Rows per parquet file from the footers alone (no data read), for Delta file stats."""
    import pyarrow.parquet as pq

    def count(path: str) -> tuple[str, int | None]:
        try:
            filesystem, inner = resolve(local_path(path))
            with filesystem.open_input_file(inner) as f:
                return path, pq.read_metadata(f).num_rows
        except Exception as e:  # stats are optional in Delta; a missing count is not an error
            log.debug("no row count for %s: %s", path, e)
            return path, None

    paths = list(paths)
    with ThreadPoolExecutor(max_workers=min(16, max(1, len(paths)))) as pool:
        return {p: n for p, n in pool.map(count, paths) if n is not None}


def parquet_columns(paths: Iterable[str]) -> dict[str, list[str]]:
    """Each parquet file's column names, in file order, from its footer alone (no data read)."""
    import pyarrow.parquet as pq

    def names(path: str) -> tuple[str, list[str]]:
        filesystem, inner = resolve(local_path(path))
        with filesystem.open_input_file(inner) as f:
            return path, list(pq.read_schema(f).names)

    paths = list(paths)
    with ThreadPoolExecutor(max_workers=min(16, max(1, len(paths)))) as pool:
        return dict(pool.map(names, paths))


@_reported("write")
def write_text(spark: SparkSession, path: str, text: str) -> None:
    """Write a small text file (local, s3://, ...) through Hadoop, replacing it."""
    fs, hpath = _fs(spark, path)
    stream = fs.create(hpath, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()


@_reported("read")
def read_text(spark: SparkSession, path: str) -> str:
    """Read a small text file written by :func:`write_text`."""
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
    # resolved on the driver, where the S3 settings are: the filesystems travel to the tasks
    located = [(p, *resolve(local_path(p))) for p in paths]

    def digest(item: tuple[str, pafs.FileSystem, str]) -> tuple[str, str]:
        import hashlib

        path, filesystem, inner = item
        h = hashlib.sha256()
        with filesystem.open_input_stream(inner) as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        return path, h.hexdigest()

    rdd = spark.sparkContext.parallelize(located, min(len(located), 64))
    return dict(rdd.map(digest).collect())


# pyarrow.fs: usable in executor tasks ----------------------------------------


def resolve(uri: str, filesystem: pafs.FileSystem | None = None) -> tuple[pafs.FileSystem, str]:
    """Return the filesystem and its path for a local path, ``file://``, ``s3://`` or ``s3a://``
    URI; S3 goes through the endpoint and region of :func:`s3_access` (the conf's ``s3:``).

    ``filesystem`` overrides the one the URI implies; the path is then the URI without its
    scheme.
    """
    if "://" not in uri:
        uri = os.path.abspath(uri)
    if filesystem is None and is_s3(uri):
        filesystem = _s3.arrow_filesystem()  # the endpoint Spark and deltalake use too
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


def write_files(root: str, files: Mapping[str, bytes]) -> None:
    """Write ``files`` (``{path relative to root: bytes}``) under ``root``, a local folder or an
    ``s3://`` prefix; each file replaces what was there, whole (a local file is written beside
    and renamed, so a reader never sees half of it)."""
    fs, base = resolve(root)
    local = is_local(fs)
    for name, data in files.items():
        path = f"{base}/{name}"
        target = f"{path}.tmp-{os.getpid()}" if local else path
        if local:
            fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
        with fs.open_output_stream(target) as f:
            f.write(data)
        if local:
            fs.move(target, path)


def read_files(folder: str, suffix: str = "") -> dict[str, bytes]:
    """``{name relative to folder: bytes}`` of every file under ``folder`` (local or
    ``s3://``) whose name ends with ``suffix``, in name order; empty when there is none."""
    fs, root = resolve(folder)
    out = {}
    for name in list_relative(fs, root):
        if name.endswith(suffix):
            with fs.open_input_stream(f"{root}/{name}") as f:
                out[name] = f.read()
    return out


# conditional writes: one small object that several processes race for (a lease) --------------


class Changed(Exception):
    """A conditional write or delete lost: the object changed since it was read."""


_CONFLICT_CODES = ("PreconditionFailed", "ConditionalRequestConflict")


def create_exclusive(uri: str, data: bytes) -> bool:
    """Create ``uri`` holding ``data`` unless it exists; True when this call created it
    (``If-None-Match: *`` on S3, ``O_EXCL`` on a local disk)."""
    bucket_key = _bucket_key(uri)
    if bucket_key is not None:
        from botocore.exceptions import ClientError

        try:
            _s3.client().put_object(Bucket=bucket_key[0], Key=bucket_key[1], Body=data,
                                    IfNoneMatch="*")
            return True
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in _CONFLICT_CODES:
                return False
            raise InputError(f"cannot create {uri}: {e}") from None
    path = local_path(uri)
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    except OSError as e:
        raise InputError(f"cannot create {path} ({e.strerror}); is it writable?") from None
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return True


def read_tagged(uri: str) -> tuple[bytes, str] | None:
    """The content of ``uri`` and its tag (the S3 ETag; locally the content itself), the
    condition of a later :func:`replace_if` or :func:`delete_if`; None when it is missing or
    cannot be read now (the caller reads again)."""
    bucket_key = _bucket_key(uri)
    try:
        if bucket_key is not None:
            got = _s3.client().get_object(Bucket=bucket_key[0], Key=bucket_key[1])
            return got["Body"].read(), str(got.get("ETag"))
        with open(local_path(uri), "rb") as f:
            body = f.read()
        return body, body.decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 - gone or unreadable: the caller reads again
        return None


def replace_if(uri: str, data: bytes, tag: str | None) -> None:
    """Overwrite ``uri`` if it still has ``tag`` (see :func:`read_tagged`), else raise
    :class:`Changed`; with no tag, unconditionally. Locally the compare and the write happen
    under a host-wide lock, and readers see the old content or the new, never half of it."""
    bucket_key = _bucket_key(uri)
    if bucket_key is not None:
        from botocore.exceptions import ClientError

        try:
            _s3.client().put_object(Bucket=bucket_key[0], Key=bucket_key[1], Body=data,
                                    **({"IfMatch": tag} if tag else {}))
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in _CONFLICT_CODES:
                raise Changed(uri) from None
            raise
        return
    path = local_path(uri)
    with _host_lock():
        if tag is not None and (read_tagged(uri) or (b"", None))[1] != tag:
            raise Changed(uri)
        tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)


def delete_if(uri: str, tag: str) -> bool:
    """Remove ``uri`` if it still has ``tag``; True when it was removed (a missing object, or
    one that changed, is left as it is)."""
    bucket_key = _bucket_key(uri)
    if bucket_key is not None:
        from botocore.exceptions import ClientError

        try:
            _s3.client().delete_object(Bucket=bucket_key[0], Key=bucket_key[1], IfMatch=tag)
            return True
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in (*_CONFLICT_CODES, "NoSuchKey"):
                return False
            raise
    with _host_lock():
        if (read_tagged(uri) or (b"", None))[1] != tag:
            return False
        with contextlib.suppress(FileNotFoundError):
            os.remove(local_path(uri))
        return True


def _bucket_key(uri: str) -> tuple[str, str] | None:
    if not is_s3(uri):
        return None
    bucket, _, key = uri.split("://", 1)[1].partition("/")
    return bucket, key


@contextlib.contextmanager
def _host_lock() -> Iterator[None]:
    """Serialise local compare-and-change between every process on this host: an exclusive
    flock of one lock file in the temporary folder (read-only is enough for flock, so another
    user's lock file serves too); nothing is left in the lake."""
    fd = os.open(os.path.join(tempfile.gettempdir(), "lakeprep-leases.lock"),
                 os.O_RDONLY | os.O_CREAT, 0o644)
    with os.fdopen(fd) as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
