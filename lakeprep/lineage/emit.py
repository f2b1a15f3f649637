"""A job run's OpenLineage events: START when it begins, then COMPLETE with the datasets it
read and wrote, or FAIL with the error (ABORT when interrupted). Sending never fails a job.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import traceback
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from openlineage.client.transport import Transport
from openlineage.client.uuid import generate_static_uuid
from pyspark.sql import types as T

from lakeprep.errors import LakeprepError
from lakeprep.lineage.datasets import DatasetRef, dataset_id, input_refs, table_ref
from lakeprep.lineage.facets import (
    FACETS,
    PRODUCER,
    LakeprepCodeJobFacet,
    LakeprepConfigJobFacet,
    LakeprepFilesDatasetFacet,
    LakeprepRunFacet,
)
from lakeprep.lineage.transport import transport_for
from lakeprep.version import code_version

if TYPE_CHECKING:
    from lakeprep.config import Settings
    from lakeprep.lineage.datasets import Tables

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunInfo:
    """What the events say of a run: its ids, when it started, the conf and the engine it ran
    with (``lakeprep.runtime.JobContext.run_info`` makes one)."""

    run_id: str
    job: str
    engine: str
    started_at: datetime
    env: str
    conf_hash: str
    conf_files: tuple[str, ...] = ()
    spark_version: str | None = None

# events --------------------------------------------------------------------------------------
class LineageRun:
    """The datasets one run read and wrote, collected while it runs (see ``LineageEmitter.run``).
    """

    def __init__(self, tables: Tables):
        self.tables = tables
        self.inputs: list[DatasetRef] = []
        self.outputs: list[DatasetRef] = []

    def add_input(self, ref: DatasetRef) -> None:
        if ref not in self.inputs:
            self.inputs.append(ref)

    def add_output(self, ref: DatasetRef) -> None:
        if ref not in self.outputs:
            self.outputs.append(ref)

    def add_commit(self, table: str, location: str, version: int,
                   metadata: Mapping[str, Any]) -> None:
        """A lake commit of this run: the table version as an output, the ``inputs`` its
        metadata records as inputs (called by the run's tables as each commit is made).

        Example::

            run.add_commit("orders", "/lake/bronze/orders", 3, metadata)
        """
        try:
            for ref in input_refs(self.tables, metadata.get("inputs") or []):
                self.add_input(ref)
            self.add_output(table_ref(self.tables, table, version, metadata.get("gate"), location))
        except Exception as e:  # noqa: BLE001 - lineage is best effort, the job goes on
            log.warning("lineage: could not record the commit of %s v%s: %s", table, version, e)


class LineageEmitter:
    """Sends a job run's OpenLineage events; a failing transport is logged, never raised.

    Example::

        emitter = LineageEmitter.from_settings(settings)
        emitter.start(info); ...; emitter.complete(info, inputs, outputs)
    """

    def __init__(self, transport: Transport | None, namespace: str = "lakeprep",
                 source_url: str | None = None):
        self.transport = transport
        self.namespace = namespace
        self.source_url = source_url

    @classmethod
    def from_settings(cls, settings: Settings) -> LineageEmitter:
        conf = settings.lineage
        if not conf.enabled or os.environ.get("OPENLINEAGE_DISABLED", "").lower() == "true":
            log.info("lineage: OpenLineage events are disabled")
            return cls(None, conf.namespace)
        return cls(transport_for(settings), conf.namespace, conf.source_url)

    @contextlib.contextmanager
    def run(self, ctx: RunInfo, tables: Tables) -> Iterator[LineageRun]:
        """START now; COMPLETE with what the run added on success, FAIL (ABORT when
        interrupted) on an exception, which is re-raised. ``tables`` resolves the tables the
        run's commits name."""
        run = LineageRun(tables)
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

    def start(self, ctx: RunInfo, inputs: Sequence[DatasetRef] = ()) -> bool:
        return self._send(ctx, RunState.START, inputs, ())

    def complete(self, ctx: RunInfo, inputs: Sequence[DatasetRef] = (),
                 outputs: Sequence[DatasetRef] = ()) -> bool:
        return self._send(ctx, RunState.COMPLETE, inputs, outputs)

    def fail(self, ctx: RunInfo, error: BaseException, inputs: Sequence[DatasetRef] = (),
             outputs: Sequence[DatasetRef] = ()) -> bool:
        return self._send(ctx, RunState.FAIL, inputs, outputs, error=error)

    def event(self, ctx: RunInfo, state: RunState, inputs: Sequence[DatasetRef] = (),
              outputs: Sequence[DatasetRef] = (), error: BaseException | None = None
              ) -> RunEvent:
        """The RunEvent for ``ctx`` in ``state`` (built, not sent)."""
        run_facets: dict[str, RunFacet] = {
            "lakeprep_run": LakeprepRunFacet(runId=ctx.run_id, engine=ctx.engine,
                                             startedAt=ctx.started_at.isoformat(),
                                             host=socket.gethostname(), pid=os.getpid(),
                                             producer=PRODUCER)}
        if ctx.spark_version:
            run_facets["processing_engine"] = processing_engine_run.ProcessingEngineRunFacet(
                version=ctx.spark_version, name="spark", producer=PRODUCER)
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

    def _send(self, ctx: RunInfo, state: RunState, inputs: Sequence[DatasetRef],
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

    def _job_facets(self, ctx: RunInfo) -> dict[str, JobFacet]:

        code = code_version()
        facets: dict[str, JobFacet] = {
            "jobType": job_type_job.JobTypeJobFacet(
                processingType="BATCH", integration="SPARK", jobType="JOB", producer=PRODUCER),
            "lakeprep_config": LakeprepConfigJobFacet(
                configHash=ctx.conf_hash, env=ctx.env, confFiles=list(ctx.conf_files),
                producer=PRODUCER),
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


def run_uuid(ctx: RunInfo) -> Any:
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

    Example::

        [e.eventType.value for e in read_events("lakeprep-data/_lakeprep/openlineage/events.jsonl")]
        # -> ['START', 'COMPLETE']
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
