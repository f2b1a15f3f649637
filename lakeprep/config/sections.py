"""The typed models of the conf sections jobs read: ``features``, ``export`` and ``lineage``.

Each is validated when the settings load (``load_settings``), so a typo anywhere in conf stops
every command at start-up with the file and the key, before Spark starts:

    conf/base/export.yaml: export.formts: unknown key

>>> ExportSettings(formats=["csv", "parquet"]).split.method
'stratified'
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:
    from lakeprep.sagemaker import SplitSpec, WriteOptions


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# features ------------------------------------------------------------------------------------
class AggregateSpec(_Model):
    """Windowed aggregates of one event table per entity."""

    source: str
    timestamp: str
    windows: list[int] = Field(min_length=1)
    aggregations: dict[str, list[str]] = Field(default_factory=dict)
    count_prefix: str = ""
    recency: str | None = None


class LabelSpec(_Model):
    """``name`` is 1 when the entity has an event in ``source`` within the horizon."""

    name: str
    source: str
    timestamp: str
    horizon_days: int = Field(ge=1)


class SnapshotSpec(_Model):
    """How to assemble the per-entity snapshot the feature pipeline is fitted on."""

    entity: str
    entity_table: str
    entity_since: str | None = Field(default=None, description="the entity's creation time; "
                                     "entities created at or after the cutoff are left out")
    attributes: list[str] = Field(default_factory=list)
    derived: dict[str, str] = Field(default_factory=dict, description="name: Spark SQL expr")
    aggregates: list[AggregateSpec] = Field(default_factory=list)
    label: LabelSpec | None = None

    def sources(self) -> list[str]:
        """Every table the snapshot reads, entity table first."""
        names = [self.entity_table, *(a.source for a in self.aggregates)]
        if self.label:
            names.append(self.label.source)
        return list(dict.fromkeys(names))


class DriftSettings(_Model):
    """``features.drift``: PSI thresholds of the drift check ``transform`` runs."""

    policy: Literal["fail", "warn"] = "warn"
    warn: float = Field(default=0.1, ge=0)
    fail: float = Field(default=0.25, ge=0)
    bins: int = Field(default=10, ge=2)


class FeaturesSettings(_Model):
    """The ``features:`` section (``conf/base/features.yaml``). ``pipeline`` is the feature spec,
    checked op by op by ``features.spec.build_pipeline``."""

    table: str
    cutoff: date
    inference_table: str | None = None
    snapshot: SnapshotSpec
    pipeline: dict[str, Any]
    drift: DriftSettings = DriftSettings()
    models_folder: str = Field(default="_models", description="under the features layer root")

    def tables(self) -> list[str]:
        """Every catalog table the section names."""
        return [self.table, *([self.inference_table] if self.inference_table else []),
                *self.snapshot.sources()]


# export --------------------------------------------------------------------------------------
Format = Literal["csv", "libsvm", "recordio-protobuf", "parquet"]


class SplitSettings(_Model):
    """``export.split``: how rows are split; label and entity come from the export section."""

    method: Literal["random", "stratified", "time"] = "stratified"
    fractions: dict[str, float] = Field(
        default_factory=lambda: {"train": 0.8, "validation": 0.1, "test": 0.1})
    seed: int = 42
    time_col: str = "snapshot_date"
    cut_points: list[date | datetime | float] | None = None


class ExportSettings(_Model):
    """The ``export:`` section (``conf/base/export.yaml``)."""

    source_table: str = "customer_features"
    label: str | None = None  # None: the label the table version's metadata names
    entity: str | None = None  # None: the entity the table version's metadata names
    features_col: str = "features"
    split: SplitSettings = SplitSettings()
    formats: list[Format] = Field(default_factory=lambda: list[Format](["csv"]))
    output: str | None = None
    overwrite: bool = False
    shuffle: bool = True
    rows_per_file: int | None = Field(default=None, ge=1)
    num_files: int | None = Field(default=None, ge=1)

    @field_validator("formats")
    @classmethod
    def _formats(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one format is needed")
        if len(set(value)) != len(value):
            raise ValueError(f"formats repeat: {value}")
        return value

    @model_validator(mode="after")
    def _split_is_coherent(self) -> ExportSettings:
        # method/label/time combinations and fractions, checked when the conf loads
        from pydantic import ValidationError

        try:
            self.split_spec(self.label or "label", self.entity)
        except ValidationError as e:
            err = e.errors()[0]  # named as the user wrote it: split.<key>: problem
            key = ".".join(["split", *(str(p) for p in err["loc"])])
            raise ValueError(f"{key}: {str(err['msg']).removeprefix('Value error, ')}") from None
        return self

    def split_spec(self, label: str, entity: str | None) -> SplitSpec:
        """The `SplitSpec` for ``label`` and ``entity``; a ValidationError names its keys."""
        from lakeprep.sagemaker import SplitSpec

        s = self.split
        return SplitSpec(method=s.method, fractions=s.fractions, seed=s.seed, label_col=label,
                         time_col=s.time_col if s.method == "time" else None,
                         cut_points=s.cut_points,
                         entity_cols=[entity] if entity else None)

    def write_options(self, label: str, names: list[str], seed: int) -> WriteOptions:
        from lakeprep.sagemaker import WriteOptions

        return WriteOptions(features_col=self.features_col, label_col=label,
                            feature_names=tuple(names), shuffle=self.shuffle, seed=seed,
                            num_files=self.num_files, rows_per_file=self.rows_per_file,
                            mode="overwrite" if self.overwrite else "error")


# lineage -------------------------------------------------------------------------------------
class FileTransportConf(_Model):
    """JSON lines appended to ``path`` (default ``<lake.system>/openlineage/events.jsonl``)."""

    type: Literal["file"] = "file"
    path: str | None = None


class HttpTransportConf(_Model):
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


class LineageSettings(_Model):
    """The ``lineage:`` section (``conf/base/lineage.yaml``)."""

    enabled: bool = True
    namespace: str = Field(default="lakeprep", min_length=1)
    source_url: str | None = None
    transport: FileTransportConf | HttpTransportConf = Field(
        default_factory=FileTransportConf, discriminator="type")


# deploy --------------------------------------------------------------------------------------
def _unset_if_empty(v: str | None) -> str | None:
    return v or None  # `${VAR:-}` in conf gives "" when the variable is not set


class GlueDeploy(_Model):
    """``deploy.glue``: the Glue job each lakeprep job becomes (``lakeprep-<job>-<env>``)."""

    role_arn: str | None = None
    glue_version: str = "5.1"  # DESIGN.md: the runtime baseline is what Glue 5.1 runs
    worker_type: str = "G.1X"
    number_of_workers: int = Field(default=2, ge=2)
    timeout_minutes: int = Field(default=120, ge=1)
    max_retries: int = Field(default=0, ge=0)
    bookmarks: bool = False

    _role = field_validator("role_arn")(_unset_if_empty)


class EmrDeploy(_Model):
    """``deploy.emr``: the running EMR on EC2 cluster the steps go to."""

    cluster_id: str | None = None
    action_on_failure: Literal["CONTINUE", "CANCEL_AND_WAIT", "TERMINATE_CLUSTER"] = "CONTINUE"

    _cluster = field_validator("cluster_id")(_unset_if_empty)


class EmrServerlessDeploy(_Model):
    """``deploy.emr_serverless``: the Spark application and the role job runs assume."""

    application_id: str | None = None
    execution_role_arn: str | None = None
    driver_cores: int = Field(default=2, ge=1)
    driver_memory: str = "4g"
    executor_cores: int = Field(default=2, ge=1)
    executor_memory: str = "4g"
    executor_instances: int = Field(default=2, ge=1)

    _ids = field_validator("application_id", "execution_role_arn")(_unset_if_empty)


class DeploySettings(_Model):
    """The ``deploy:`` section: where artefacts go and which AWS resources run the jobs.

    ``job_env`` are the environment variables a job run gets (what ``conf/<env>`` interpolates,
    e.g. ``LAKEPREP_BUCKET``); secrets are never among them, only their references
    (``ingest.pii_salt_secret``).
    """

    bucket: str | None = Field(default=None, description="artefact bucket")
    prefix: str = "lakeprep/artifacts"
    region: str | None = None
    kms_key: str | None = Field(default=None, description="KMS key id/ARN for SSE-KMS uploads")
    database: str = Field(default="lakeprep", description="Glue Data Catalog database")
    job_env: dict[str, str] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    glue: GlueDeploy = GlueDeploy()
    emr: EmrDeploy = EmrDeploy()
    emr_serverless: EmrServerlessDeploy = EmrServerlessDeploy()

    _unset = field_validator("bucket", "region", "kms_key")(_unset_if_empty)

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        return v.strip("/")
