"""Locations as lakeprep names them: a local path, ``file:`` URI, or a remote URI (``s3://``,
``s3a://``...). The one place that tells them apart, so no module checks ``"://" in`` itself.

Imports nothing of lakeprep: the conf models and the storage layer both use it.

>>> is_remote("s3://bucket/lake"), is_remote("file:/tmp/lake"), is_remote("lake")
(True, False, False)
>>> local_path("file:///tmp/lake/x.json")
'/tmp/lake/x.json'
>>> join_uri("s3://b/train/", "part-0.csv")
's3://b/train/part-0.csv'
"""

from __future__ import annotations

import os
from pathlib import Path

S3_SCHEMES = ("s3://", "s3a://", "s3n://")


def is_remote(uri: str) -> bool:
    """True for a URI with a scheme other than ``file:`` (an object store, HDFS...)."""
    return "://" in uri and not uri.startswith("file:")


def is_s3(uri: str) -> bool:
    return uri.startswith(S3_SCHEMES)


def local_path(uri: str) -> str:
    """A local location as a plain path: ``file:/x``, ``file:///x`` -> ``/x`` (as Spark and
    Hadoop name local files); anything else unchanged."""
    if uri.startswith("file://"):
        return uri[len("file://"):]
    if uri.startswith("file:"):
        return uri[len("file:"):]
    return uri


def absolute(uri: str) -> str:
    """A remote URI without its trailing slash, or a local location as an absolute path."""
    if is_remote(uri):
        return uri.rstrip("/")
    return str(Path(local_path(uri)).expanduser().resolve())


def join_uri(uri: str, name: str) -> str:
    """``name`` under ``uri`` (a folder or prefix), with one slash between."""
    return uri.rstrip("/") + "/" + name


def relative_link(target: str, start: str) -> str:
    """How a page at folder ``start`` links to ``target``: relative when both are local."""
    if is_remote(target) or is_remote(start):
        return target
    return os.path.relpath(absolute(target), absolute(start))
