"""Lineage out and back: OpenLineage run events for every job run, and the tree of a table version.

A run sends START when it begins, then COMPLETE with the datasets it read and wrote, or FAIL with
the error (ABORT when interrupted). Events go to a JSON-lines file under the lake's system folder
by default, or to an HTTP endpoint (``conf/*/lineage.yaml``). Sending never fails a job: a
transport error is logged as a warning. ``lineage_tree`` walks the other way, from a table
version's commit metadata through the upstream table versions it read down to the raw files.

>>> emitter = LineageEmitter.from_settings(ctx.settings)  # doctest: +SKIP
>>> with emitter.run(ctx) as run:  # doctest: +SKIP
...     version = ctx.table("orders").merge(df, ["order_id"], ctx.commit_metadata(...)).version
...     run.add_commit("orders", version)
>>> rich.print(lineage_tree(ctx, "customer_features"))  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import os
import posixpath
import re
import traceback
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

import attr
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    DatasetFacet,
    JobFacet,
    RunFacet,
    data_quality_assertions_dataset,
    dataset_version_dataset,
    error_message_run,
    job_type_job,
    processing_engine_run,
    schema_dataset,
    source_code_location_job,
    storage_dataset,
    symlinks_dataset,
)
from openlineage.client.serde import Serde
from openlineage.client.transport import Transport
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.transport.http import (
    ApiKeyTokenProvider,
    HttpConfig,
    HttpTransport,
    TokenProvider,
)
from openlineage.client.transport.http_common import DEFAULT_RETRY_CONFIG
from openlineage.client.uuid import generate_static_uuid
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pyspark.sql import types as T
from rich.markup import escape
from rich.tree import Tree

import lakeprep
from lakeprep.errors import ConfigError, LakeprepError, LakeTableError

if TYPE_CHECKING:
    from jobs.config import Settings
    from jobs.lake import Commit, LakeTable
    from jobs.runtime import JobContext

log = logging.getLogger(__name__)

PRODUCER = f"urn:lakeprep:{lakeprep.__version__}"
_FACET_SCHEMA = "urn:lakeprep:facets:{}:1-0-0"


# configuration -------------------------------------------------------------------------------
class _Conf(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FileTransportConf(_Conf):
    """JSON lines appended to ``path`` (default ``<lake.system>/openlineage/events.jsonl``)."""

    type: Literal["file"] = "file"
    path: str | None = None


class HttpTransportConf(_Conf):
    """POST each event to ``url`` + ``endpoint``; the API key is read from ``api_key_env``."""

    type: Literal["http"]
    url: str
    endpoint: str = "api/v1/lineage"
    api_key_env: str | None = None
    timeout: float = Field(default=5.0, gt=0)
    retries: int = Field(default=2, ge=0, le=10)
    verify: bool = True

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        u = urlparse(v)
        if u.scheme not in ("http", "https") or not u.netloc:
            raise ValueError(f"expected an http(s):// URL, found {v!r}")
        return v


class LineageSettings(_Conf):
    """The ``lineage:`` section of the conf."""

    enabled: bool = True
    namespace: str = Field(default="lakeprep", min_length=1)
    source_url: str | None = None
    transport: FileTransportConf | HttpTransportConf = Field(
        default_factory=FileTransportConf, discriminator="type")


def lineage_settings(settings: Settings) -> LineageSettings:
    """The validated ``lineage`` section; errors name the conf file and the key.

    >>> lineage_settings(load_settings("local")).namespace  # doctest: +SKIP
    'lakeprep'
    """
    return settings.section("lineage", LineageSettings)


def _transport(conf: LineageSettings, settings: Settings) -> Transport:
    t = conf.transport
    if isinstance(t, HttpTransportConf):
        auth: TokenProvider = TokenProvider({})
        if t.api_key_env:
            key = os.environ.get(t.api_key_env)
            if key:
                auth = ApiKeyTokenProvider({"api_key": key})
            else:
                log.warning("lineage: environment variable %s (lineage.transport.api_key_env) "
                            "is not set; events go to %s without an API key", t.api_key_env, t.url)
        retry = {**DEFAULT_RETRY_CONFIG, "total": t.retries, "connect": t.retries,
                 "read": t.retries}  # POST and 5xx stay retryable, as in the client's default
        return HttpTransport(HttpConfig(url=t.url, endpoint=t.endpoint, timeout=t.timeout,
                                        verify=t.verify, auth=auth, retry=retry))
    path = t.path
    if not path:
        if not settings.lake.system:
            raise ConfigError(f"{settings.where('lineage', 'transport')}: lineage.transport.path: "
                              f"not set, and lake.system is empty so there is no default "
                              f"(<lake.system>/openlineage/events.jsonl)")
        path = settings.system_table("openlineage") + "/events.jsonl"
    if "://" in path and not path.startswith("file://"):
        # object stores cannot append: one file per event in a folder next to the name
        return ObjectStoreTransport(path.removesuffix(".jsonl"))
    try:
        Path(path.removeprefix("file://")).parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        log.warning("lineage: cannot create the folder of %s (lineage.transport.path): %s; "
                    "events will not be written", path, e)
    return FileTransport(FileConfig(log_file_path=path, append=True))


class ObjectStoreTransport(Transport):
    """One JSON file per event under ``folder`` (``s3://``, ``s3a://``, local), written through
    the active Spark session's Hadoop FileSystem: object stores cannot append to a file.

    >>> ObjectStoreTransport("s3://bucket/lake/_lakeprep/openlineage/events")  # doctest: +SKIP
    """

    kind = "file"

    def __init__(self, folder: str):
        self.folder = folder.rstrip("/")
        self._seq = itertools.count()

    def emit(self, event: Any) -> None:
        from pyspark.sql import SparkSession

        from jobs.lake.storage import write_text

        spark = SparkSession.getActiveSession()
        if spark is None:
            raise RuntimeError(f"no active Spark session to write to {self.folder}")
        stamp = re.sub(r"[^0-9T]", "", event.eventTime[:26])  # to the microsecond
        name = f"{stamp}-{next(self._seq):04d}-{event.run.runId}-{event.eventType.value}.json"
        write_text(spark, f"{self.folder}/{name}", Serde.to_json(event) + "\n")


# custom facets -------------------------------------------------------------------------------
@attr.define
class LakeprepConfigJobFacet(JobFacet):
    """The effective configuration a run used: its hash, environment and files."""

    configHash: str  # noqa: N815
    env: str
    confFiles: list[str] = attr.field(factory=list)  # noqa: N815

    @staticmethod
    def _get_schema() -> str:
        return _FACET_SCHEMA.format("LakeprepConfigJobFacet")


@attr.define
class LakeprepCodeJobFacet(JobFacet):
    """The package version and, when known, the git commit the code was built from."""

    package: str
    gitCommit: str | None = attr.field(default=None)  # noqa: N815

    @staticmethod
    def _get_schema() -> str:
        return _FACET_SCHEMA.format("LakeprepCodeJobFacet")


@attr.define
class LakeprepRunFacet(RunFacet):
    """The lakeprep run id, as every Delta commit of the run records it."""

    runId: str  # noqa: N815
    startedAt: str  # noqa: N815
    engine: str

    @staticmethod
    def _get_schema() -> str:
        return _FACET_SCHEMA.format("LakeprepRunFacet")


@attr.define
class LakeprepFilesDatasetFacet(DatasetFacet):
    """How many raw files (and bytes) a run read from a raw dataset, and the first paths."""

    count: int
    bytes: int
    paths: list[str] = attr.field(factory=list)

    @staticmethod
    def _get_schema() -> str:
        return _FACET_SCHEMA.format("LakeprepFilesDatasetFacet")


FACETS: dict[str, type] = {
    "schema": schema_dataset.SchemaDatasetFacet,
    "version": dataset_version_dataset.DatasetVersionDatasetFacet,
    "storage": storage_dataset.StorageDatasetFacet,
    "symlinks": symlinks_dataset.SymlinksDatasetFacet,
    "dataQualityAssertions": data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet,
    "lakeprep_files": LakeprepFilesDatasetFacet,
    "jobType": job_type_job.JobTypeJobFacet,
    "sourceCodeLocation": source_code_location_job.SourceCodeLocationJobFacet,
    "lakeprep_config": LakeprepConfigJobFacet,
    "lakeprep_code": LakeprepCodeJobFacet,
    "errorMessage": error_message_run.ErrorMessageRunFacet,
    "processing_engine": processing_engine_run.ProcessingEngineRunFacet,
    "lakeprep_run": LakeprepRunFacet,
}


# datasets ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DatasetRef:
    """A dataset a run read or wrote: a catalog table at a version, or a batch of raw files.

    ``schema`` is a Spark schema or ``(name, type)`` pairs; ``assertions`` are gate results
    ``{assertion, success, column}``; ``files`` are raw files ``{path, size, ...}``.

    >>> DatasetRef("orders", "s3://b/lake/bronze/orders", version=3)  # doctest: +SKIP
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


def table_ref(ctx: JobContext, name: str, version: int | None = None,
              gate: Mapping[str, Any] | None = None, location: str | None = None) -> DatasetRef:
    """The catalog table ``name`` (or the table at ``location``) at ``version`` (latest if None),
    with its schema at that version when it can be read.

    >>> table_ref(ctx, "orders", 3)  # doctest: +SKIP
    """
    table = _open(ctx, name, location)
    schema = None
    try:
        version = table.version() if version is None else version
        schema = table.read(version=version).schema
    except Exception as e:  # noqa: BLE001 - lineage is best effort, the job goes on
        log.debug("lineage: no schema for %s v%s: %s", name, version, e)
    return DatasetRef(name, table.location, version, schema, assertions_from_gate(gate))


def files_ref(ctx: JobContext, raw_table: str, files: Sequence[Mapping[str, Any]]) -> DatasetRef:
    """Raw files of the catalog's raw table ``raw_table``: the dataset is the source folder
    (stable across batches), its version a digest of the file list.

    >>> files_ref(ctx, "raw_orders", [{"path": "/raw/o/1.jsonl", "size": 9}])  # doctest: +SKIP
    """
    spec = ctx.settings.tables.get(raw_table)
    location = spec.location if spec else _common_folder([f["path"] for f in files])
    fmt, schema = "files", None
    if spec is not None and spec.source is not None:
        from jobs.ingest import source_pattern  # not at import time: ingest will import us

        location, fmt = _static_prefix(source_pattern(ctx.settings, spec)), spec.source.format
        schema = [(c.name, c.type) for c in spec.columns] or None
    digest = hashlib.sha256(json.dumps(
        sorted([f.get("path"), f.get("size"), f.get("modified_ms"), f.get("sha256")]
               for f in files), default=str).encode()).hexdigest()[:16]
    return DatasetRef(raw_table, location, f"files:{digest}", schema, file_format=fmt,
                      files=list(files))


def input_refs(ctx: JobContext, inputs: Sequence[Mapping[str, Any]]) -> list[DatasetRef]:
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


def _open(ctx: JobContext, name: str, location: str | None = None) -> LakeTable:
    if name in ctx.settings.tables:
        return ctx.table(name)
    if location:
        return ctx.table_at(location)
    raise LakeTableError(f"table {name!r} is not in the catalog and its lineage entry has no "
                         f"location; catalog tables: {', '.join(sorted(ctx.settings.tables))}")


# events --------------------------------------------------------------------------------------
class LineageRun:
    """The datasets one run read and wrote, collected while it runs (see ``LineageEmitter.run``).
    """

    def __init__(self, ctx: JobContext):
        self.ctx = ctx
        self.inputs: list[DatasetRef] = []
        self.outputs: list[DatasetRef] = []

    def add_input(self, ref: DatasetRef) -> None:
        if ref not in self.inputs:
            self.inputs.append(ref)

    def add_output(self, ref: DatasetRef) -> None:
        if ref not in self.outputs:
            self.outputs.append(ref)

    def add_commit(self, table: str, version: int | None, location: str | None = None) -> bool:
        """The commit ``version`` of ``table`` as an output, and its recorded ``inputs`` as
        inputs. False (nothing added) when no version or when another run wrote it.

        >>> run.add_commit("orders", report.version)  # doctest: +SKIP
        True
        """
        if version is None:
            return False
        try:
            meta = _open(self.ctx, table, location).commit_metadata(version)
            if meta.get("run_id") != self.ctx.run_id:
                log.debug("lineage: %s v%s was written by run %s, not this one", table, version,
                          meta.get("run_id"))
                return False
            for ref in input_refs(self.ctx, meta.get("inputs") or []):
                self.add_input(ref)
            self.add_output(table_ref(self.ctx, table, version, meta.get("gate"), location))
            return True
        except Exception as e:  # noqa: BLE001 - lineage is best effort, the job goes on
            log.warning("lineage: could not read the commit of %s v%s: %s", table, version, e)
            return False


class LineageEmitter:
    """Sends a job run's OpenLineage events; a failing transport is logged, never raised.

    >>> emitter = LineageEmitter.from_settings(settings)  # doctest: +SKIP
    >>> emitter.start(ctx); ...; emitter.complete(ctx, inputs, outputs)  # doctest: +SKIP
    """

    def __init__(self, transport: Transport | None, namespace: str = "lakeprep",
                 source_url: str | None = None):
        self.transport = transport
        self.namespace = namespace
        self.source_url = source_url

    @classmethod
    def from_settings(cls, settings: Settings) -> LineageEmitter:
        conf = lineage_settings(settings)
        if not conf.enabled or os.environ.get("OPENLINEAGE_DISABLED", "").lower() == "true":
            log.info("lineage: OpenLineage events are disabled")
            return cls(None, conf.namespace)
        return cls(_transport(conf, settings), conf.namespace, conf.source_url)

    @contextlib.contextmanager
    def run(self, ctx: JobContext) -> Iterator[LineageRun]:
        """START now; COMPLETE with what the run added on success, FAIL (ABORT when
        interrupted) on an exception, which is re-raised."""
        run = LineageRun(ctx)
        self.start(ctx)
        try:
            yield run
        except Exception as e:
            self.fail(ctx, e, run.inputs, run.outputs)
            raise
        except BaseException as e:
            self._send(ctx, RunState.ABORT, run.inputs, run.outputs, error=e)
            raise
        self.complete(ctx, run.inputs, run.outputs)

    def start(self, ctx: JobContext, inputs: Sequence[DatasetRef] = ()) -> bool:
        return self._send(ctx, RunState.START, inputs, ())

    def complete(self, ctx: JobContext, inputs: Sequence[DatasetRef] = (),
                 outputs: Sequence[DatasetRef] = ()) -> bool:
        return self._send(ctx, RunState.COMPLETE, inputs, outputs)

    def fail(self, ctx: JobContext, error: BaseException, inputs: Sequence[DatasetRef] = (),
             outputs: Sequence[DatasetRef] = ()) -> bool:
        return self._send(ctx, RunState.FAIL, inputs, outputs, error=error)

    def event(self, ctx: JobContext, state: RunState, inputs: Sequence[DatasetRef] = (),
              outputs: Sequence[DatasetRef] = (), error: BaseException | None = None
              ) -> RunEvent:
        """The RunEvent for ``ctx`` in ``state`` (built, not sent)."""
        run_facets: dict[str, RunFacet] = {
            "lakeprep_run": LakeprepRunFacet(runId=ctx.run_id, engine=ctx.engine,
                                             startedAt=ctx.started_at.isoformat(),
                                             producer=PRODUCER)}
        with contextlib.suppress(Exception):  # a stopped session has no version to give
            run_facets["processing_engine"] = processing_engine_run.ProcessingEngineRunFacet(
                version=ctx.spark.version, name="spark", producer=PRODUCER)
        if error is not None:
            run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=f"{type(error).__name__}: {error}", programmingLanguage="PYTHON",
                stackTrace="".join(traceback.format_exception(error)), producer=PRODUCER)
        return RunEvent(
            eventType=state,
            eventTime=datetime.now(UTC).isoformat(),
            run=Run(runId=str(run_uuid(ctx)), facets=run_facets),
            job=Job(namespace=self.namespace, name=ctx.job, facets=self._job_facets(ctx)),
            inputs=[InputDataset(*dataset_id(r.location), facets=self._facets(r),
                                 inputFacets=self._quality(r)) for r in inputs],
            outputs=[OutputDataset(*dataset_id(r.location), facets={
                **self._facets(r), **self._quality(r)}) for r in outputs],
            producer=PRODUCER,
        )

    def _send(self, ctx: JobContext, state: RunState, inputs: Sequence[DatasetRef],
              outputs: Sequence[DatasetRef], error: BaseException | None = None) -> bool:
        if self.transport is None:
            return False
        try:
            self.transport.emit(self.event(ctx, state, inputs, outputs, error))
            return True
        except Exception as e:  # noqa: BLE001 - lineage must never fail the job
            log.warning("lineage: could not send the %s event of run %s (%s transport): %s",
                        state.value, ctx.run_id, self.transport.kind, e)
            return False

    def _job_facets(self, ctx: JobContext) -> dict[str, JobFacet]:
        from jobs.runtime import code_version

        code = code_version()
        facets: dict[str, JobFacet] = {
            "jobType": job_type_job.JobTypeJobFacet(
                processingType="BATCH", integration="SPARK", jobType="JOB", producer=PRODUCER),
            "lakeprep_config": LakeprepConfigJobFacet(
                configHash=ctx.settings.conf_hash, env=ctx.settings.env,
                confFiles=list(ctx.settings.files), producer=PRODUCER),
            "lakeprep_code": LakeprepCodeJobFacet(
                package=str(code.get("package")), gitCommit=code.get("git_commit"),
                producer=PRODUCER),
        }
        if code.get("git_commit"):
            url = self.source_url or Path(__file__).resolve().parents[1].as_uri()
            facets["sourceCodeLocation"] = source_code_location_job.SourceCodeLocationJobFacet(
                type="git", url=url, version=code["git_commit"], producer=PRODUCER)
        return facets

    def _facets(self, ref: DatasetRef) -> dict[str, DatasetFacet]:
        facets: dict[str, DatasetFacet] = {
            "symlinks": symlinks_dataset.SymlinksDatasetFacet(identifiers=[
                symlinks_dataset.Identifier(namespace=self.namespace, name=ref.name,
                                            type="TABLE")], producer=PRODUCER),
            "storage": storage_dataset.StorageDatasetFacet(
                storageLayer="files" if ref.is_files else "delta",
                fileFormat=ref.file_format if ref.is_files else "parquet", producer=PRODUCER),
        }
        if ref.version is not None:
            facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
                datasetVersion=str(ref.version), producer=PRODUCER)
        if ref.schema:
            facets["schema"] = schema_dataset.SchemaDatasetFacet(
                fields=_schema_fields(ref.schema), producer=PRODUCER)
        if ref.files:
            facets["lakeprep_files"] = LakeprepFilesDatasetFacet(
                count=len(ref.files), bytes=sum(int(f.get("size") or 0) for f in ref.files),
                paths=[str(f.get("path")) for f in ref.files[:100]], producer=PRODUCER)
        return facets

    def _quality(self, ref: DatasetRef) -> dict[str, Any]:
        if not ref.assertions:
            return {}
        d = data_quality_assertions_dataset
        return {"dataQualityAssertions": d.DataQualityAssertionsDatasetFacet(assertions=[
            d.Assertion(assertion=str(a.get("assertion")), success=bool(a.get("success")),
                        column=a.get("column")) for a in ref.assertions], producer=PRODUCER)}


def run_uuid(ctx: JobContext) -> Any:
    """The OpenLineage run id of ``ctx``: a UUIDv7 derived from its start time and run id, so
    every event of one run (and anyone who knows the run id) gets the same one."""
    return generate_static_uuid(ctx.started_at, ctx.run_id.encode())


def _schema_fields(schema: T.StructType | Sequence[tuple[str, str]]
                   ) -> list[schema_dataset.SchemaDatasetFacetFields]:
    F = schema_dataset.SchemaDatasetFacetFields
    if not isinstance(schema, T.StructType):
        return [F(name=n, type=t, ordinal_position=i) for i, (n, t) in enumerate(schema, 1)]
    return [F(name=f.name, ordinal_position=i, description=f.metadata.get("comment"),
              type="struct" if isinstance(f.dataType, T.StructType) else f.dataType.simpleString(),
              fields=_schema_fields(f.dataType) if isinstance(f.dataType, T.StructType) else [])
            for i, f in enumerate(schema.fields, 1)]


# reading events back -------------------------------------------------------------------------
def read_events(path: str | Path) -> list[RunEvent]:
    """The run events of a JSON-lines file (or of a folder of ``ObjectStoreTransport`` files,
    in time order), as openlineage-python models.

    >>> [e.eventType.value for e in read_events("lakeprep-data/_lakeprep/openlineage/events.jsonl")]
    ... # doctest: +SKIP
    ['START', 'COMPLETE']
    """
    path = Path(path)
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    out = []
    for f in files:
        for n, line in enumerate(f.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                out.append(event_from_dict(json.loads(line)))
            except (ValueError, TypeError, KeyError) as e:
                raise LakeprepError(f"{f}:{n}: not an OpenLineage run event: {e}") from None
    return out


def event_from_dict(data: Mapping[str, Any]) -> RunEvent:
    """A RunEvent from its JSON form (``Serde.to_dict`` of one), facets as their model classes;
    facets this module does not know become plain ``BaseFacet``s with their fields attached."""
    return _structure(RunEvent, data)


def _structure(cls: type, data: Mapping[str, Any]) -> Any:
    attr.resolve_types(cls)
    kwargs = {}
    for a in attr.fields(cls):
        if a.init and a.name in data:
            kwargs[a.alias] = _value(a.type, data[a.name])
    return cls(**kwargs)


def _value(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return _value(next(a for a in args if a is not type(None)), value)
    if origin is list:
        return [_value(args[0], v) for v in value]
    if origin is dict:
        base = args[1]
        if isinstance(base, type) and attr.has(base) and hasattr(base, "_get_schema"):
            return {k: _facet(k, base, v) for k, v in value.items()}  # a facet map
        return dict(value)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp(value)
    if isinstance(tp, type) and attr.has(tp):
        return _structure(tp, value)
    return value


def _facet(key: str, base: type, value: Mapping[str, Any]) -> Any:
    cls = FACETS.get(key)
    if cls is not None:
        return _structure(cls, value)
    known = {a.name for a in attr.fields(base)}
    facet = _structure(base, {k: v for k, v in value.items() if k in known})
    rest = {k: v for k, v in value.items() if k not in known}
    return facet.with_additional_properties(**rest) if rest else facet


# the lineage tree ----------------------------------------------------------------------------
def lineage_graph(ctx: JobContext, table: str, version: int | None = None, max_depth: int = 20,
                  max_files: int = 10) -> dict[str, Any]:
    """The lineage of ``table`` at ``version`` (latest when None) as nested dicts: each table
    node has ``table, version, status, job, run_id, time, gate, counts, inputs``; raw file
    nodes have ``files`` (the first ``max_files``), ``file_count``, ``more_files``, ``bytes``.
    ``status`` is ``lakeprep``, ``foreign`` (no lakeprep metadata), ``missing``, ``repeated``
    (shown earlier in the tree) or ``truncated`` (deeper than ``max_depth``).

    >>> lineage_graph(ctx, "customer_features")["inputs"][0]["version"]  # doctest: +SKIP
    4
    """
    t = ctx.table(table)
    history = t.history()
    if not history:
        raise LakeTableError(f"table {table!r} at {t.location}: no Delta table there yet "
                             f"(nothing was written); no lineage to show")
    if version is not None and all(c.version != version for c in history):
        raise LakeTableError(f"table {table!r} at {t.location}: no version {version} in its "
                             f"history; versions {history[-1].version}..{history[0].version}")
    walker = _Walker(ctx, max_depth, max_files)
    walker.histories[t.location] = history
    return walker.table_node(table, version if version is not None else history[0].version,
                             t, depth=0)


def lineage_tree(ctx: JobContext, table: str, version: int | None = None, max_depth: int = 20,
                 max_files: int = 10) -> Tree:
    """``lineage_graph`` as a rich Tree, ready for ``rich.print``.

    >>> rich.print(lineage_tree(ctx, "orders", 3))  # doctest: +SKIP
    """
    return render_tree(lineage_graph(ctx, table, version, max_depth, max_files))


def render_tree(node: Mapping[str, Any], parent: Tree | None = None) -> Tree:
    """A rich Tree of a ``lineage_graph`` node and everything below it."""
    label = _label(node)
    branch = Tree(label) if parent is None else parent.add(label)
    if node.get("kind") == "files":
        for f in node.get("files") or []:
            branch.add(f"{escape(str(f.get('path')))} [dim]({_size(f.get('size'))})[/]")
        if node.get("more_files"):
            branch.add(f"[dim]+{node['more_files']} more files[/]")
    for child in node.get("inputs") or []:
        render_tree(child, branch)
    return branch


class _Walker:
    def __init__(self, ctx: JobContext, max_depth: int, max_files: int):
        self.ctx, self.max_depth, self.max_files = ctx, max_depth, max_files
        self.histories: dict[str, list[Commit]] = {}
        self.seen: set[tuple[str, int]] = set()

    def table_node(self, name: str, version: int | None, table: LakeTable, depth: int
                   ) -> dict[str, Any]:
        node: dict[str, Any] = {"kind": "table", "table": name, "version": version,
                                "location": table.location, "inputs": []}
        key = (table.location, version if version is not None else -1)
        if key in self.seen:
            return {**node, "status": "repeated", "note": "shown above"}
        self.seen.add(key)
        commit = self._commit(table, version)
        if commit is None:
            return {**node, "status": "missing",
                    "note": "version not in the table's history (no table, vacuumed or "
                            "expired log)" if version is not None else "no version recorded"}
        meta = commit.metadata
        node.update(operation=commit.operation, time=commit.timestamp.isoformat())
        if not meta.get("run_id") or not meta.get("job"):
            return {**node, "status": "foreign",
                    "note": "no lakeprep metadata (written by another engine or tool)"}
        gate = meta.get("gate") if isinstance(meta.get("gate"), Mapping) else {}
        node.update(status="lakeprep", job=meta.get("job"), run_id=meta.get("run_id"),
                    gate=gate.get("verdict"), counts=meta.get("counts") or {})
        if depth >= self.max_depth:
            return {**node, "status": "truncated", "note": f"deeper than {self.max_depth}"}
        node["inputs"] = [self.input_node(e, depth + 1) for e in meta.get("inputs") or []
                          if isinstance(e, Mapping)]
        return node

    def input_node(self, entry: Mapping[str, Any], depth: int) -> dict[str, Any]:
        name = str(entry.get("table", "?"))
        if entry.get("kind") == "files":
            files = [f for f in entry.get("files") or [] if isinstance(f, Mapping)]
            shown = [{"path": f.get("path"), "size": f.get("size")}
                     for f in files[:self.max_files]]
            return {"kind": "files", "table": name, "files": shown, "file_count": len(files),
                    "more_files": max(0, len(files) - self.max_files),
                    "bytes": sum(int(f.get("size") or 0) for f in files)}
        if entry.get("kind") != "table":
            return {"kind": str(entry.get("kind")), "table": name, "status": "unknown",
                    "note": f"input of unknown kind {entry.get('kind')!r}", "inputs": []}
        version = entry.get("version")
        try:
            table = _open(self.ctx, name, entry.get("location"))
        except LakeprepError as e:
            return {"kind": "table", "table": name, "version": version, "status": "missing",
                    "note": str(e), "inputs": []}
        return self.table_node(name, version, table, depth)

    def _commit(self, table: LakeTable, version: int | None) -> Commit | None:
        if version is None:
            return None
        if table.location not in self.histories:
            try:
                self.histories[table.location] = table.history()
            except Exception as e:  # noqa: BLE001 - an unreadable upstream is shown, not raised
                log.warning("lineage: cannot read the history of %s: %s", table.location, e)
                self.histories[table.location] = []
        return next((c for c in self.histories[table.location] if c.version == version), None)


def _label(node: Mapping[str, Any]) -> str:
    name = f"[bold]{escape(str(node.get('table')))}[/]"
    if node.get("kind") == "files":
        return (f"{name} [dim]raw files[/]: {node.get('file_count')} file(s), "
                f"{_size(node.get('bytes'))}")
    parts = []
    status = node.get("status")
    if node.get("job"):
        parts += [str(node["job"]), f"run {node.get('run_id')}"]
    if node.get("time"):
        parts.append(datetime.fromisoformat(node["time"]).strftime("%Y-%m-%d %H:%M:%S UTC"))
    if node.get("counts"):
        parts.append(" ".join(f"{k}={v}" for k, v in node["counts"].items()))
    if status == "foreign" and node.get("operation"):
        parts.append(str(node["operation"]))
    text = " · ".join([f"{name} v{node.get('version')}", *map(escape, parts)])
    if node.get("gate"):
        style = {"pass": "green", "warn": "yellow", "quarantine": "yellow"}.get(node["gate"],
                                                                                 "red")
        text += f" · gate [{style}]{escape(str(node['gate']))}[/]"
    if status not in ("lakeprep", None):
        text += f" · [yellow]{escape(str(node.get('note') or status))}[/]"
    return text


def _size(n: Any) -> str:
    size = float(n or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


__all__ = [
    "PRODUCER", "DatasetRef", "LineageEmitter", "LineageRun", "LineageSettings",
    "ObjectStoreTransport", "assertions_from_gate", "dataset_id", "event_from_dict", "files_ref",
    "input_refs", "lineage_graph", "lineage_settings", "lineage_tree", "read_events",
    "render_tree", "run_uuid", "table_ref",
]
