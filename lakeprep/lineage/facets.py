"""lakeprep's custom OpenLineage facets, and the registry used to read events back.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import attr
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

import lakeprep

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

PRODUCER = f"urn:lakeprep:{lakeprep.__version__}"
_FACET_SCHEMA = "urn:lakeprep:facets:{}:1-0-0"


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
    """The lakeprep run id, as every Delta commit of the run records it, and the driver process
    (host, pid) that runs it: ``lakeprep vacuum`` leaves a run open while that process lives."""

    runId: str  # noqa: N815
    startedAt: str  # noqa: N815
    engine: str
    host: str | None = attr.field(default=None)  # absent from events of older versions
    pid: int | None = attr.field(default=None)

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
