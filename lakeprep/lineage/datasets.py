"""The datasets a run reads and writes, as lineage names them: catalog tables at a version,
or batches of raw files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlparse

from pyspark.sql import types as T

from lakeprep.errors import LakeTableError

if TYPE_CHECKING:
    from lakeprep.config import Settings
    from lakeprep.lake import LakeTable

log = logging.getLogger(__name__)


class Tables(Protocol):
    """How lineage opens the tables a run names: by catalog name, or at a location. A job's
    ``lakeprep.runtime.JobContext`` is one."""

    @property
    def settings(self) -> Settings: ...

    def table(self, name: str) -> LakeTable: ...

    def table_at(self, location: str, partition_by: list[str] | tuple[str, ...] = ()
                 ) -> LakeTable: ...

# datasets ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DatasetRef:
    """A dataset a run read or wrote: a catalog table at a version, or a batch of raw files.

    ``schema`` is a Spark schema or ``(name, type)`` pairs; ``assertions`` are gate results
    ``{assertion, success, column}``; ``files`` are raw files ``{path, size, ...}``.

    Example::

        DatasetRef("orders", "s3://b/lake/bronze/orders", version=3)
    """

    name: str
    location: str
    version: int | str | None = None
    schema: T.StructType | Sequence[tuple[str, str]] | None = None
    assertions: Sequence[Mapping[str, Any]] = ()
    file_format: str = "delta"
    files: Sequence[Mapping[str, Any]] = ()

    @property
    def is_files(self) -> bool:
        return self.file_format != "delta"


def dataset_id(location: str) -> tuple[str, str]:
    """OpenLineage (namespace, name) of a location: ``s3://bucket`` + key, or ``file`` + path.

    >>> dataset_id("s3a://bucket/lake/orders/")
    ('s3://bucket', 'lake/orders')
    """
    u = urlparse(location)
    if u.scheme in ("", "file"):
        return "file", os.path.abspath(u.path or location)
    scheme = "s3" if u.scheme in ("s3", "s3a", "s3n") else u.scheme
    return f"{scheme}://{u.netloc}", u.path.strip("/")


def table_ref(ctx: Tables, name: str, version: int | None = None,
              gate: Mapping[str, Any] | None = None, location: str | None = None) -> DatasetRef:
    """The catalog table ``name`` (or the table at ``location``) at ``version`` (latest if None),
    with its schema at that version when it can be read.

    Example::

        table_ref(ctx, "orders", 3)
    """
    table = _open(ctx, name, location)
    schema = None
    try:
        version = table.version() if version is None else version
        schema = table.read(version=version).schema
    except Exception as e:  # noqa: BLE001 - lineage is best effort, the job goes on
        log.debug("lineage: no schema for %s v%s: %s", name, version, e)
    return DatasetRef(name, table.location, version, schema, assertions_from_gate(gate))


def files_ref(ctx: Tables, raw_table: str, files: Sequence[Mapping[str, Any]]) -> DatasetRef:
    """Raw files of the catalog's raw table ``raw_table``: the dataset is the source folder
    (stable across batches), its version a digest of the file list.

    Example::

        files_ref(ctx, "raw_orders", [{"path": "/raw/o/1.jsonl", "size": 9}])
    """
    spec = ctx.settings.tables.get(raw_table)
    location = spec.location if spec else _common_folder([f["path"] for f in files])
    fmt, schema = "files", None
    if spec is not None and spec.source is not None:
        location = _static_prefix(ctx.settings.source_pattern(spec))
        fmt = spec.source.format
        schema = [(c.name, c.type) for c in spec.columns] or None
    digest = hashlib.sha256(json.dumps(
        sorted([f.get("path"), f.get("size"), f.get("modified_ms"), f.get("sha256")]
               for f in files), default=str).encode()).hexdigest()[:16]
    return DatasetRef(raw_table, location, f"files:{digest}", schema, file_format=fmt,
                      files=list(files))


def input_refs(ctx: Tables, inputs: Sequence[Mapping[str, Any]]) -> list[DatasetRef]:
    """DatasetRefs for a commit's ``inputs`` (the lineage convention): tables and raw files."""
    out = []
    for entry in inputs:
        if entry.get("kind") == "files":
            out.append(files_ref(ctx, str(entry.get("table")), entry.get("files") or []))
        elif entry.get("kind") == "table":
            out.append(table_ref(ctx, str(entry.get("table")), entry.get("version"),
                                 location=entry.get("location")))
        else:
            log.debug("lineage: input of unknown kind skipped: %s", entry)
    return out


def assertions_from_gate(gate: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """``[{assertion, success, column}]`` from a gate summary: its ``assertions``, else the
    outcomes of its validation report (``GateOutcome.to_dict()`` or ``ValidationReport``)."""
    if not gate:
        return []
    if gate.get("assertions"):
        return [dict(a) for a in gate["assertions"]]
    outcomes = gate.get("outcomes") or (gate.get("report") or {}).get("outcomes") or []
    return [{"assertion": o.get("expectation", "?"), "success": bool(o.get("success")),
             "column": o["columns"][0] if len(o.get("columns") or []) == 1 else None}
            for o in outcomes]


def _static_prefix(pattern: str) -> str:
    """The folder of a glob before its first wildcard: ``/raw/orders/batch_*/*.json`` ->
    ``/raw/orders``."""
    parts = pattern.split("/")
    for i, part in enumerate(parts):
        if any(c in part for c in "*?[{"):
            return "/".join(parts[:i]) or "/"
    return pattern


def _common_folder(paths: Sequence[str]) -> str:
    if not paths:
        return "unknown"
    ids = [dataset_id(p) for p in paths]
    folder = posixpath.commonpath([posixpath.dirname("/" + n.lstrip("/")) for _, n in ids])
    ns = ids[0][0]
    return folder if ns == "file" else f"{ns}{folder}"


def _open(ctx: Tables, name: str, location: str | None = None) -> LakeTable:
    if name in ctx.settings.tables:
        return ctx.table(name)
    if location:
        return ctx.table_at(location)
    raise LakeTableError(f"table {name!r} is not in the catalog and its lineage entry has no "
                         f"location; catalog tables: {', '.join(sorted(ctx.settings.tables))}")
