"""One row per entity as of a cutoff date: attributes, point-in-time aggregates and a label.

Features use only events strictly before the cutoff (see
:func:`features.creation.point_in_time.point_in_time_aggregates`); the label looks only at
[cutoff, cutoff + horizon). Entities that did not exist yet at the cutoff are left out.

>>> spec = SnapshotSpec.model_validate(conf["features"]["snapshot"])  # doctest: +SKIP
>>> snap = build_snapshot({"customers": c, "orders": o}, spec, "2026-05-01")  # doctest: +SKIP
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.utils import AnalysisException

from features.checks import require_columns
from features.creation.point_in_time import point_in_time_aggregates, window_label
from features.errors import FeatureSpecError

SNAPSHOT_DATE = "snapshot_date"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AggregateSpec(_Spec):
    """Windowed aggregates of one event table per entity."""

    source: str
    timestamp: str
    windows: list[int] = Field(min_length=1)
    aggregations: dict[str, list[str]] = Field(default_factory=dict)
    count_prefix: str = ""
    recency: str | None = None


class LabelSpec(_Spec):
    """``name`` is 1 when the entity has an event in ``source`` within the horizon."""

    name: str
    source: str
    timestamp: str
    horizon_days: int = Field(ge=1)


class SnapshotSpec(_Spec):
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


def build_snapshot(tables: dict[str, DataFrame], spec: SnapshotSpec, cutoff: str,
                   with_label: bool = True) -> DataFrame:
    """The snapshot frame: entity, ``snapshot_date``, attributes, derived, aggregates, label."""
    missing = [t for t in spec.sources() if t not in tables]
    if missing:
        raise FeatureSpecError(f"snapshot: table(s) {missing} not given; have {sorted(tables)}")
    entities = tables[spec.entity_table]
    cols = [spec.entity, *spec.attributes]
    if spec.entity_since:
        cols.append(spec.entity_since)
    require_columns(entities, cols, f"snapshot entity table {spec.entity_table}")
    at = F.to_timestamp(F.lit(cutoff))
    if spec.entity_since:
        entities = entities.where(F.col(spec.entity_since) < at)
    snap = (entities.select(*dict.fromkeys(cols))
            .withColumn(SNAPSHOT_DATE, F.to_date(F.lit(cutoff))))
    for name, expr in spec.derived.items():
        try:
            snap = snap.withColumn(name, F.expr(expr))
        except AnalysisException as e:
            raise FeatureSpecError(f"snapshot.derived.{name}: {expr!r} does not resolve over "
                                   f"{snap.columns}: {e}") from None
    for agg in spec.aggregates:
        feats = point_in_time_aggregates(
            tables[agg.source], spec.entity, agg.timestamp, cutoff, agg.windows,
            agg.aggregations, count_prefix=agg.count_prefix, recency_col=agg.recency,
            entities=snap)
        snap = snap.join(feats, spec.entity, "left")
    if with_label and spec.label:
        lab = spec.label
        snap = snap.join(window_label(tables[lab.source], snap, spec.entity, lab.timestamp,
                                      cutoff, lab.horizon_days, lab.name), spec.entity, "left")
    return snap
