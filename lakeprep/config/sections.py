"""The typed models of the conf sections jobs read: ``features``, ``export`` and ``lineage``.

Each is validated when the settings load (``load_settings``), so a typo anywhere in conf stops
every command at start-up with the file and the key, before Spark starts:

    conf/base/export.yaml: export.formts: unknown key

>>> ExportSettings(formats=["csv", "parquet"]).split.method
'stratified'
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lakeprep.config.split import SplitSpec

# the column of a feature table that holds a row's assembled feature vector (array<double>)
FEATURES_COL = "features"


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


class _SetBase(_Model):
    """What every feature set declares: its tables, its cutoff and its pipeline spec."""

    table: str = Field(description="the feature table this set writes (catalog name)")
    inference_table: str | None = Field(default=None, description="what transform writes")
    cutoff: date | None = Field(default=None, description="default: features.cutoff")
    pipeline: dict[str, Any]
    non_finite: Literal["fail", "quarantine", "allow"] = Field(
        default="fail", description="NaN or +-inf in the assembled vector: fail the build before "
        "it commits, quarantine those rows, or allow them (estimators that take missing values, "
        "e.g. XGBoost; export still refuses them for the built-in algorithms)")


class EntitySnapshotSet(_SetBase):
    """``kind: entity_snapshot``: one row per entity as of the cutoff (``features.snapshot``)."""

    kind: Literal["entity_snapshot"]
    snapshot: SnapshotSpec

    @property
    def id_column(self) -> str:
        return self.snapshot.entity

    @property
    def label_name(self) -> str | None:
        return self.snapshot.label.name if self.snapshot.label else None

    def sources(self) -> list[str]:
        return self.snapshot.sources()

    def date_columns(self) -> list[tuple[str, str]]:
        """(table, column) of every timestamp that dates the snapshot's data: the entities'
        ``entity_since`` and each aggregate's ``timestamp``."""
        snap = self.snapshot
        since = [(snap.entity_table, snap.entity_since)] if snap.entity_since else []
        return list(dict.fromkeys([*since, *((a.source, a.timestamp) for a in snap.aggregates)]))

    def expressions(self) -> dict[str, str]:
        """Every Spark SQL expression of the set, by its key under the set."""
        return {f"snapshot.derived.{k}": v for k, v in self.snapshot.derived.items()}

    def window(self, day: str) -> str:
        """Which rows the set takes as of ``day``, in words."""
        snap = self.snapshot
        if snap.entity_since:
            return f"{snap.entity_table} rows whose {snap.entity_since} is before {day}"
        return f"every row of {snap.entity_table}"


class RowLabel(_Model):
    """``name`` = ``expr`` (Spark SQL over the source row), stored as int when boolean."""

    name: str
    expr: str


class RowId(_Model):
    """The output's row id: ``expr`` (Spark SQL), else a hash of the record's declared columns."""

    name: str
    expr: str | None = None


class TimeFilter(_Model):
    """Keep rows whose ``column`` lies in [from, until); ``days``: [cutoff - days, cutoff)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    column: str
    from_: date | datetime | None = Field(default=None, alias="from")
    until: date | datetime | None = None
    days: int | None = Field(default=None, ge=1, description="relative to the cutoff")

    @model_validator(mode="after")
    def _one_way(self) -> TimeFilter:
        if self.days is not None and (self.from_ is not None or self.until is not None):
            raise ValueError("days: give either days (relative to the cutoff) or from/until")
        if self.days is None and self.from_ is None and self.until is None:
            raise ValueError("column: a time filter needs from, until or days")
        return self


class RowsSet(_SetBase):
    """``kind: rows``: one output row per source row of a bronze table, with a label."""

    kind: Literal["rows"]
    source: str = Field(description="a bronze table (catalog name)")
    row_id: RowId
    label: RowLabel | None = None
    time_filter: TimeFilter | None = None
    drop: list[str] = Field(default_factory=list, description="source columns never written "
                            "to the feature table (e.g. leaking the label)")

    @property
    def id_column(self) -> str:
        return self.row_id.name

    @property
    def label_name(self) -> str | None:
        return self.label.name if self.label else None

    def sources(self) -> list[str]:
        return [self.source]

    def date_columns(self) -> list[tuple[str, str]]:
        """(table, column) that dates the rows: the time filter's column, if any."""
        return [(self.source, self.time_filter.column)] if self.time_filter else []

    def expressions(self) -> dict[str, str]:
        """Every Spark SQL expression of the set, by its key under the set."""
        exprs = {"label.expr": self.label.expr} if self.label else {}
        if self.row_id.expr:
            exprs["row_id.expr"] = self.row_id.expr
        return exprs

    def window(self, day: str) -> str:
        """Which rows the set takes as of ``day``, in words (``taxi_trips.pickup_datetime in
        [2019-01-01, 2019-05-01)``)."""
        tf = self.time_filter
        if tf is None:
            return f"every row of {self.source}"
        if tf.days is not None:
            start: object = date.fromisoformat(day) - timedelta(days=tf.days)
            end: object = day
        else:
            start, end = tf.from_ or "-inf", tf.until or "+inf"
        return f"{self.source}.{tf.column} in [{start}, {end})"


FeatureSet = Annotated[EntitySnapshotSet | RowsSet, Field(discriminator="kind")]


class FeaturesSettings(_Model):
    """The ``features:`` section (``conf/base/features.yaml``): named feature sets, each with
    its own source, kind, tables and pipeline (``features.spec.build_pipeline`` checks the spec
    op by op when the set is built)."""

    cutoff: date
    sets: dict[str, FeatureSet] = Field(min_length=1)
    drift: DriftSettings = DriftSettings()
    models_folder: str = Field(default="_models", description="under the features layer root")

    def tables(self) -> list[tuple[str, str]]:
        """(key, table) for every catalog table the section names."""
        out = []
        for name, fs in self.sets.items():
            out.append((f"sets.{name}.table", fs.table))
            if fs.inference_table:
                out.append((f"sets.{name}.inference_table", fs.inference_table))
            key = "snapshot" if isinstance(fs, EntitySnapshotSet) else "source"
            out += [(f"sets.{name}.{key}", t) for t in fs.sources()]
        return out

    @model_validator(mode="after")
    def _own_tables(self) -> FeaturesSettings:
        # two sets writing one table would overwrite each other's partitions and models
        owner: dict[str, str] = {}
        for key, table in self.tables():
            if key.endswith((".table", ".inference_table")):
                if table in owner:
                    raise ValueError(f"{key}: table {table!r} is already written by "
                                     f"{owner[table]}; every set writes its own tables")
                owner[table] = key
        return self

    def cutoff_of(self, name: str) -> date:
        """The set's own cutoff, else the section's."""
        return self.sets[name].cutoff or self.cutoff


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
    features_col: str = FEATURES_COL
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
        s = self.split
        return SplitSpec(method=s.method, fractions=s.fractions, seed=s.seed, label_col=label,
                         time_col=s.time_col if s.method == "time" else None,
                         cut_points=s.cut_points,
                         entity_cols=[entity] if entity else None)


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
    logs_prefix: str = Field(default="lakeprep/logs", description="where EMR Serverless job "
                             "runs write their logs, in the artefact bucket")
    poll_seconds: float = Field(default=15.0, gt=0, description="`deploy --wait`: seconds "
                                "between two looks at the run's state")
    region: str | None = None
    kms_key: str | None = Field(default=None, description="KMS key id/ARN for SSE-KMS uploads")
    database: str = Field(default="lakeprep", description="Glue Data Catalog database")
    job_env: dict[str, str] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    glue: GlueDeploy = GlueDeploy()
    emr: EmrDeploy = EmrDeploy()
    emr_serverless: EmrServerlessDeploy = EmrServerlessDeploy()

    _unset = field_validator("bucket", "region", "kms_key")(_unset_if_empty)

    @field_validator("prefix", "logs_prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        return v.strip("/")
