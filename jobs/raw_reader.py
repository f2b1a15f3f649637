"""Raw files (CSV, JSON lines, Parquet) into typed rows, each with the reasons it is unusable.

Text is read as lines first, so every rejected row keeps its raw record and source file, and
every reason names the column: ``amount: '12,50' is not a valid double``. Types come from the
catalog (no inference); CSV columns are matched by their header names, not by position.

>>> batch = read_raw(spark, spec, files)  # doctest: +SKIP
>>> batch.rows.where("size(_reasons) > 0").show()  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass
from typing import Literal

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakeprep.config import ColumnSpec, TableSpec
from lakeprep.errors import ConfigError, InputError, SchemaDriftError
from lakeprep.storage import FileInfo, read_text_head

log = logging.getLogger(__name__)

SOURCE_FILE, RAW_RECORD, REASONS = "_source_file", "_raw_record", "_reasons"
DriftPolicy = Literal["fail", "ignore", "evolve"]


@dataclass
class RawBatch:
    """Parsed rows (declared columns, plus ``_source_file``, ``_raw_record``, ``_reasons``)."""

    rows: DataFrame
    extra_columns: list[str]  # columns the files have that the schema does not declare
    missing_columns: list[str]  # declared columns no file of the batch has


def read_raw(spark: SparkSession, raw: TableSpec, files: list[FileInfo],
             drift: DriftPolicy = "fail") -> RawBatch:
    """Parse ``files`` of the raw table ``raw`` with its declared schema."""
    assert raw.source is not None
    paths = [f.path for f in files]
    fmt = raw.source.format
    if fmt == "csv":
        return _read_csv(spark, raw, paths, drift)
    if fmt == "json":
        return _read_json(spark, raw, paths, drift)
    return _read_parquet(spark, raw, paths, drift)


# --- CSV -----------------------------------------------------------------------------------
def _read_csv(spark: SparkSession, raw: TableSpec, paths: list[str],
              drift: DriftPolicy) -> RawBatch:
    opts = dict(raw.source.options) if raw.source else {}
    sep = opts.get("sep", opts.get("delimiter", ","))
    quote = opts.get("quote", '"')
    by_header: dict[tuple[str, ...], list[str]] = {}
    for path in paths:
        line = read_text_head(spark, path)
        header = tuple(next(csv.reader(io.StringIO(line), delimiter=sep, quotechar=quote), []))
        if not header:
            raise InputError(f"{path}: empty file or no header line (table {raw.name})")
        by_header.setdefault(header, []).append(path)
    declared = [c.name for c in raw.columns]
    seen = {h for header in by_header for h in header}
    extra = [h for h in dict.fromkeys(h for header in by_header for h in header)
             if h not in declared]
    missing = [c for c in declared if c not in seen]
    _apply_drift(raw, extra, missing, drift, {h: files for h, files in by_header.items()})
    keep_extra = extra if drift == "evolve" else []
    parts = []
    for header, group in by_header.items():
        lines = _lines(spark, group)
        header_line = sep.join(header)
        lines = lines.where(F.col("value") != F.lit(header_line))
        schema = ", ".join(f"`c{i}` string" for i in range(len(header)))
        parsed = F.from_csv("value", schema, {**opts, "sep": sep, "quote": quote,
                                             "mode": "PERMISSIVE"})
        # Count fields outside quoted sections: from_csv pads short lines with nulls and drops
        # the tail of long ones, so a wrong field count would otherwise pass unseen.
        unquoted = F.regexp_replace("value", f'{re.escape(quote)}([^{re.escape(quote)}]|'
                                             f'{re.escape(quote)}{{2}})*{re.escape(quote)}', "")
        n_fields = F.size(F.split(unquoted, re.escape(sep), -1))
        structural = (F.when(F.instr(unquoted, quote) > 0, F.lit("malformed line: unclosed quote"))
                      .when(n_fields != len(header),
                            F.concat(F.lit("malformed line: "), n_fields.cast("string"),
                                     F.lit(f" fields, the header has {len(header)}"))))
        by_name = {h: F.col("p")[f"c{i}"] for i, h in enumerate(header)}
        # an empty CSV field is a missing value
        text = [(F.when(by_name[c] != "", by_name[c]) if c in by_name
                 else F.lit(None).cast("string")).alias(_text_name(c))
                for c in [*declared, *keep_extra]]
        stage = (lines.select(F.col(SOURCE_FILE), F.col("value").alias(RAW_RECORD),
                              parsed.alias("p"), structural.alias("__structural"))
                 .select(SOURCE_FILE, RAW_RECORD, "__structural", *text))
        parts.append(_finish(stage, raw.columns, keep_extra))
    return RawBatch(_union(parts), extra, missing)


# --- JSON lines ----------------------------------------------------------------------------
def _read_json(spark: SparkSession, raw: TableSpec, paths: list[str],
               drift: DriftPolicy) -> RawBatch:
    lines = _lines(spark, paths)
    declared = [c.name for c in raw.columns]
    keys = (lines.select(F.col(SOURCE_FILE), F.explode(F.expr("json_object_keys(value)"))
                         .alias("k"))
            .groupBy("k").agg(F.sort_array(F.collect_set(SOURCE_FILE)).alias("files"))
            .collect())
    seen = {r.k: r.files for r in keys}
    extra = sorted(k for k in seen if k not in declared)
    missing = [c for c in declared if c not in seen]
    _apply_drift(raw, extra, missing, drift, {(k,): seen[k] for k in extra})
    keep_extra = extra if drift == "evolve" else []
    fields = [T.StructField(c, T.StringType()) for c in [*declared, *keep_extra]]
    schema = T.StructType([*fields, T.StructField("_corrupt", T.StringType())])
    parsed = F.from_json("value", schema, {"mode": "PERMISSIVE",
                                            "columnNameOfCorruptRecord": "_corrupt"})
    structural = F.when(F.col("p").isNull() | F.col("p._corrupt").isNotNull(),
                        F.lit("malformed line: not a JSON object"))
    stage = (lines.select(F.col(SOURCE_FILE), F.col("value").alias(RAW_RECORD),
                          parsed.alias("p"))
             .select(SOURCE_FILE, RAW_RECORD, structural.alias("__structural"),
                     *[F.col("p")[c].alias(_text_name(c)) for c in [*declared, *keep_extra]]))
    return RawBatch(_finish(stage, raw.columns, keep_extra), extra, missing)


# --- Parquet -------------------------------------------------------------------------------
def _read_parquet(spark: SparkSession, raw: TableSpec, paths: list[str],
                  drift: DriftPolicy) -> RawBatch:
    df = spark.read.option("mergeSchema", "true").parquet(*paths)
    declared = [c.name for c in raw.columns]
    extra = [c for c in df.columns if c not in declared]
    missing = [c for c in declared if c not in df.columns]
    _apply_drift(raw, extra, missing, drift, {(c,): paths for c in extra})
    keep_extra = extra if drift == "evolve" else []
    text = [(F.col(f"`{c}`").cast("string") if c in df.columns else F.lit(None).cast("string")
             ).alias(_text_name(c)) for c in [*declared, *keep_extra]]
    record = F.to_json(F.struct(*[F.col(f"`{c}`") for c in df.columns]))
    stage = df.select(F.col("_metadata.file_path").alias(SOURCE_FILE), record.alias(RAW_RECORD),
                      F.lit(None).cast("string").alias("__structural"), *text)
    return RawBatch(_finish(stage, raw.columns, keep_extra), extra, missing)


# --- shared --------------------------------------------------------------------------------
def _lines(spark: SparkSession, paths: list[str]) -> DataFrame:
    """Non-blank lines with their file; blank lines are not records."""
    return (spark.read.text(paths)
            .select(F.col("value"), F.col("_metadata.file_path").alias(SOURCE_FILE))
            .where(F.trim("value") != ""))


def _text_name(column: str) -> str:
    return f"__text_{column}"


def _finish(stage: DataFrame, columns: list[ColumnSpec], extra: list[str]) -> DataFrame:
    """From ``__text_<col>`` strings and ``__structural`` to typed columns and ``_reasons``."""
    typed_cols, reasons = [], [F.col("__structural")]
    for c in columns:
        text = F.col(f"`{_text_name(c.name)}`")
        value = typed_expr(c)
        typed_cols.append(value.alias(c.name))
        if c.type != "string":
            reasons.append(F.when(
                text.isNotNull() & value.isNull(),
                F.concat(F.lit(f"{c.name}: '"), F.substring(text, 1, 60),
                         F.lit(f"' is not a valid {c.type}"
                               + (f" ({c.format})" if c.format else "")))))
        if not c.nullable:
            reasons.append(F.when(text.isNull() & F.col("__structural").isNull(),
                                  F.lit(f"{c.name}: missing (declared not null)")))
    typed_cols += [F.col(f"`{_text_name(x)}`").alias(x) for x in extra]
    return stage.select(SOURCE_FILE, RAW_RECORD, *typed_cols,
                        F.filter(F.array(*reasons), lambda r: r.isNotNull()).alias(REASONS))


def typed_expr(c: ColumnSpec) -> Column:
    """The text column of ``c`` as its declared type; null where it does not parse.

    ``try_cast`` rather than ``cast``: "1.5" is not silently truncated into the int 1.
    """
    name = f"`{_text_name(c.name)}`"
    if c.format and c.type.startswith("timestamp"):
        return F.expr(f"try_to_timestamp({name}, '{c.format}')").cast(c.type)
    if c.format and c.type == "date":
        return F.expr(f"to_date(try_to_timestamp({name}, '{c.format}'))")
    if c.type == "string":
        return F.col(name)
    return F.expr(f"try_cast({name} AS {c.type})")


def validate_types(raw: TableSpec, spark: SparkSession) -> None:
    """Raise a ConfigError naming the column when a declared type is not a Spark SQL type."""
    for c in raw.columns:
        try:
            T._parse_datatype_string(c.type)  # noqa: SLF001 - the parser Spark itself uses
        except Exception:
            raise ConfigError(f"tables.{raw.name}.columns.{c.name}.type: {c.type!r} is not a "
                              f"Spark SQL type (string, int, bigint, double, decimal(10,2), "
                              f"boolean, date, timestamp)") from None


def _apply_drift(raw: TableSpec, extra: list[str], missing: list[str], drift: DriftPolicy,
                 where: dict[tuple[str, ...], list[str]]) -> None:
    if not extra and not missing:
        return
    files = sorted({f for fs in where.values() for f in fs})
    detail = (f"extra column(s) {extra}" if extra else "") + (
        (", " if extra and missing else "") + f"missing column(s) {missing}" if missing else "")
    if drift == "fail":
        raise SchemaDriftError(
            f"table {raw.name}: the new batch has {detail} compared with the declared schema "
            f"(files: {', '.join(files[:5])}{' ...' if len(files) > 5 else ''}); declare the "
            f"columns in the catalog or set schema_drift to ignore/evolve")
    log.warning("table %s: schema drift (%s); policy %s", raw.name, detail, drift)


def _union(parts: list[DataFrame]) -> DataFrame:
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p, allowMissingColumns=True)
    return out
