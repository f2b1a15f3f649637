"""One output row per source row: a stable row id, the cutoff date, the record and a label.

The row-level counterpart of :mod:`features.snapshot` (feature sets of ``kind: rows``). The
label is a Spark SQL expression over the row (``tip_amount > 0``), computed before the columns
that would leak it are dropped. The row id is ``row_id.expr`` when given, else a SHA-256 of the
record's declared columns as JSON (names and values, nulls included), so the same record gets
the same id in every rebuild and in every re-ingest, whatever ingest metadata bronze adds.

Example::

    spec = RowsSet.model_validate(conf["features"]["sets"]["taxi_tips"])
    rows = build_rows(trips, spec, "2019-04-01", record_columns=declared)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pyspark.errors import ParseException
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.utils import AnalysisException

from features.checks import require_columns
from features.errors import FeatureSpecError
from features.snapshot import SNAPSHOT_DATE
from lakeprep.config.sections import RowsSet, TimeFilter
from lakeprep.frames import quoted


def parse_problems(expressions: Mapping[str, str]) -> dict[str, str]:
    """``{key: problem}`` for each Spark SQL expression that does not parse (Spark's own
    parser, on the driver: no data read, no job run).

    >>> parse_problems({"label.expr": "tip_amount >",  # the parser of the session (spark)
    ...                 "where": "fare_amount > 0"})  # doctest: +ELLIPSIS
    {'label.expr': "'tip_amount >' does not parse: [PARSE_SYNTAX_ERROR] ..."}
    """
    problems = {}
    for key, expr in expressions.items():
        try:
            F.expr(expr)  # parsed eagerly by the JVM's SQL parser
        except ParseException as e:
            first = str(e).strip().splitlines()[0]
            problems[key] = f"{expr!r} does not parse: {first}"
    return problems


def time_window(spec: TimeFilter, cutoff: str) -> tuple[Column | None, Column | None]:
    """The filter's [start, end) as timestamp literals (None: open)."""
    if spec.days is not None:
        end = F.to_timestamp(F.lit(cutoff))
        start = F.to_timestamp(F.lit(cutoff)) - F.expr(f"INTERVAL {spec.days} DAYS")
        return start, end

    def at(value: object) -> Column | None:
        return None if value is None else F.to_timestamp(F.lit(str(value)))

    return at(spec.from_), at(spec.until)


def build_rows(source: DataFrame, spec: RowsSet, cutoff: str, record_columns: Sequence[str],
               with_label: bool = True, where: str = "rows set") -> DataFrame:
    """``row_id``, ``snapshot_date``, the record's columns (less ``drop``) and the label.

    ``where`` names the set in errors (``conf/base/features.yaml: features.sets.taxi_tips``).
    """
    require_columns(source, list(record_columns), f"{where}: source {spec.source}")
    df = source
    if spec.time_filter is not None:
        tf = spec.time_filter
        require_columns(source, [tf.column], f"{where}.time_filter.column")
        start, end = time_window(tf, cutoff)
        ts = F.col(tf.column).cast("timestamp")
        if start is not None:
            df = df.where(ts >= start)
        if end is not None:
            df = df.where(ts < end)
    derived = {spec.row_id.name: ("row_id", _row_id(spec, record_columns))}
    if with_label and spec.label is not None:
        derived[spec.label.name] = ("label", F.expr(spec.label.expr))
    for name, (key, column) in derived.items():
        if name in record_columns or name == SNAPSHOT_DATE:
            raise FeatureSpecError(f"{where}.{key}.name: {name!r} is already a column of "
                                   f"{spec.source}; name it otherwise")
        try:
            source.select(column)  # analysed now: a typo is named before any data is read
        except AnalysisException as e:
            first = str(e).strip().splitlines()[0]
            raise FeatureSpecError(f"{where}.{key}.expr: does not resolve over the columns of "
                                   f"{spec.source} {list(source.columns)}: {first}") from None
    keep = [c for c in record_columns if c not in spec.drop]
    out = df.select(derived[spec.row_id.name][1].alias(spec.row_id.name),
                    F.to_date(F.lit(cutoff)).alias(SNAPSHOT_DATE), *keep,
                    *[c.alias(n) for n, (_, c) in derived.items() if n != spec.row_id.name])
    label = spec.label.name if with_label and spec.label is not None else None
    if label and isinstance(out.schema[label].dataType, T.BooleanType):
        out = out.withColumn(label, F.col(label).cast("int"))  # 0/1 for every SageMaker format
    return out


def _row_id(spec: RowsSet, record_columns: Sequence[str]) -> Column:
    if spec.row_id.expr:
        return F.expr(spec.row_id.expr)
    # to_json writes names beside values, so ("a,b", null) and ("a", "b,") hash apart; nulls
    # are kept as explicit nulls so that a missing value is part of the record
    record = F.to_json(F.struct(*quoted(record_columns)),
                       {"ignoreNullFields": "false"})
    return F.sha2(record, 256)


def rows_columns(spec: RowsSet, record_columns: Sequence[str]) -> list[str]:
    """The columns :func:`build_rows` makes, from the spec and the source's declared record
    columns alone: id, snapshot date, the record's columns less ``drop``, the label."""
    cols = [spec.row_id.name, SNAPSHOT_DATE, *[c for c in record_columns if c not in spec.drop]]
    if spec.label is not None:
        cols.append(spec.label.name)
    return list(dict.fromkeys(cols))
