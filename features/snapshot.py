"""One row per entity as of a cutoff date: attributes, point-in-time aggregates and a label.

Features use only events strictly before the cutoff (see
:func:`features.creation.point_in_time.point_in_time_aggregates`); the label looks only at
[cutoff, cutoff + horizon). Entities that did not exist yet at the cutoff are left out.

Example::

    spec = SnapshotSpec.model_validate(conf["features"]["snapshot"])
    snap = build_snapshot({"customers": c, "orders": o}, spec, "2026-05-01")
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.utils import AnalysisException

from features.checks import require_columns
from features.creation.point_in_time import point_in_time_aggregates, window_label
from features.errors import FeatureSpecError
from lakeprep.config.sections import SnapshotSpec

SNAPSHOT_DATE = "snapshot_date"


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


def snapshot_columns(spec: SnapshotSpec) -> list[str]:
    """The columns :func:`build_snapshot` makes, from the spec alone (no data, no Spark job)."""
    from features.creation import PointInTimeAggregates

    cols = [spec.entity, *spec.attributes, *([spec.entity_since] if spec.entity_since else []),
            SNAPSHOT_DATE, *spec.derived]
    for agg in spec.aggregates:
        cols += PointInTimeAggregates.output_columns({
            "windows": agg.windows, "aggregations": agg.aggregations,
            "countPrefix": agg.count_prefix, "recencyCol": agg.recency or ""})
    if spec.label:
        cols.append(spec.label.name)
    return list(dict.fromkeys(cols))
