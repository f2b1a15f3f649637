"""Raw files (CSV, JSON lines, Parquet) into typed rows, each with the reasons it is unusable.

Text is read as lines first, so every rejected row keeps its raw record and source file, and
every reason names the column: ``amount: '12,50' is not a valid double``. Types come from the
catalog (no inference); CSV columns are matched by their header names, not by position.

One line is one record, and whatever is wrong with it stays with it (a reason, and the row goes to
quarantine), never stopping the batch:

- a line that is not valid UTF-8: its text is kept with U+FFFD replacements in ``_raw_record``
  and its exact bytes in ``_raw_bytes``;
- JSON: a line must be exactly one JSON object (a second object or trailing text, single quotes,
  duplicate keys are reasons); a key that differs only in case from a declared column is a
  reason, as is a key that is not a usable column name; other undeclared keys go to the declared
  ``_extra`` column (``map<string,string>``) when the raw table has one, else the drift policy
  applies;
- timestamps and dates outside 1900-01-01 .. 9999-12-31 are reasons (older values are ambiguous
  between calendars, and five-digit years are not valid in Delta or Parquet readers); with a
  ``format``, one-digit fields are also accepted where two are declared (``2025-6-20 8:10:0``
  under ``yyyy-MM-dd HH:mm:ss``), since the separators leave no doubt about the intent;
- NaN and Infinity in float/double columns are reasons;
- a byte order mark at the start of a file is not part of its first line.

>>> batch = read_raw(spark, spec, files)  # doctest: +SKIP
>>> batch.rows.where("size(_reasons) > 0").show()  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass, field
from typing import Literal

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakeprep.config import ColumnSpec, TableSpec
from lakeprep.errors import ConfigError, InputError, SchemaDriftError
from lakeprep.storage import FileInfo, parquet_columns, read_text_head

log = logging.getLogger(f"lakeprep.{__name__}")

SOURCE_FILE, RAW_RECORD, REASONS = "_source_file", "_raw_record", "_reasons"
RAW_BYTES = "_raw_bytes"  # the line's exact bytes, kept only when they are not valid UTF-8
EXTRA = "_extra"  # declared as map<string,string>: undeclared keys of a record land here
EXTRA_TYPE = "map<string,string>"
MIN_TS, MAX_TS = "1900-01-01", "10000-01-01"  # supported range of timestamps and dates: [MIN, MAX)
# Closes the array a JSON line is wrapped in: a line that parses as [<line>,SENTINEL] with exactly
# two elements is exactly one JSON value (no second object, no trailing text).
_SENTINEL, _SENTINEL_JSON = "\x00lakeprep-end", '"\\u0000lakeprep-end"'
_JSON_OPTIONS = {"allowSingleQuotes": "false", "mode": "PERMISSIVE"}
_COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DriftPolicy = Literal["fail", "ignore", "evolve"]


@dataclass
class RawBatch:
    """Parsed rows (declared columns, plus ``_source_file``, ``_raw_record``, ``_reasons``)."""

    rows: DataFrame
    extra_columns: list[str]  # columns the files have that the schema does not declare
    missing_columns: list[str]  # declared columns no file of the batch has
    extra_files: dict[str, list[str]] = field(default_factory=dict)  # extra column -> its files


def read_raw(spark: SparkSession, raw: TableSpec, files: list[FileInfo],
             drift: DriftPolicy = "fail", max_new_columns: int = 50) -> RawBatch:
    """Parse ``files`` of the raw table ``raw`` with its declared schema.

    Under ``evolve``, a batch that would add more than ``max_new_columns`` columns stops with
    a ``SchemaDriftError`` naming the file that brings the most (one stray line must not grow
    the table by hundreds of columns).
    """
    assert raw.source is not None
    paths = [f.path for f in files]
    fmt = raw.source.format
    if fmt == "csv":
        batch = _read_csv(spark, raw, paths, drift)
    elif fmt == "json":
        batch = _read_json(spark, raw, paths, drift)
    else:
        batch = _read_parquet(spark, raw, paths, drift)
    if drift == "evolve" and not _has_extra(raw) and len(batch.extra_columns) > max_new_columns:
        _too_many(raw, batch, max_new_columns)
    return batch


# --- CSV -----------------------------------------------------------------------------------
def _read_csv(spark: SparkSession, raw: TableSpec, paths: list[str],
              drift: DriftPolicy) -> RawBatch:
    opts = dict(raw.source.options) if raw.source else {}
    sep = opts.get("sep", opts.get("delimiter", ","))
    quote = opts.get("quote", '"')
    by_header: dict[tuple[str, ...], list[str]] = {}
    headers: dict[tuple[str, ...], list[str]] = {}
    for path in paths:
        line = read_text_head(spark, path).lstrip("\ufeff")
        header = tuple(next(csv.reader(io.StringIO(line), delimiter=sep, quotechar=quote), []))
        if not header:
            raise InputError(f"{path}: empty file or no header line (table {raw.name})")
        by_header.setdefault(header, []).append(path)
        headers.setdefault(header, []).append(line.splitlines()[0] if line else "")
    declared = _fields(raw)
    names = list(dict.fromkeys(h for header in by_header for h in header))
    undeclared = [h for h in names if h not in declared]
    variants = _case_variants(declared, undeclared)
    unusable = _unusable(raw, undeclared, variants, drift)
    extra = [h for h in undeclared if h not in variants and h not in unusable]
    missing = [c for c in declared if c not in names]
    keep_extra = _drift(raw, extra, missing, drift, {h: files for h, files in by_header.items()})
    parts = []
    for header, group in by_header.items():
        lines = _lines(spark, group)
        # the header line, however each file spells it (a BOM is already gone)
        lines = lines.where(~F.col("value").isin(*set(headers[header])))
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
        # whole-file problems are the reason of every line of the file
        header_reasons = [f"{variants[v]}: header {v!r} differs only in case from the "
                          f"declared column" for v in header if v in variants]
        header_reasons += [f"header {h!r} is not a usable column name" for h in header
                           if h in unusable]
        structural = F.coalesce(F.col("__invalid"), *(
            [F.lit("; ".join(header_reasons))] if header_reasons else []), structural)
        extra_map = None
        if _has_extra(raw):
            # undeclared headers, as a map; absent (empty field) values are left out
            pairs = [(F.lit(h), by_name[h]) for h in header if h in extra]
            extra_map = (F.map_filter(F.create_map(*[x for kv in pairs for x in kv]),
                                      lambda k, v: v.isNotNull() & (v != ""))
                         if pairs else F.create_map().cast(EXTRA_TYPE))
        stage = (lines.select(F.col(SOURCE_FILE), "value", F.col("value").alias(RAW_RECORD),
                              RAW_BYTES, "__invalid", parsed.alias("p"))
                 .select(SOURCE_FILE, RAW_RECORD, RAW_BYTES, structural.alias("__structural"),
                         *text, *([extra_map.alias(_text_name(EXTRA))]
                                  if extra_map is not None else [])))
        parts.append(_finish(stage, raw.columns, keep_extra))
    return RawBatch(_union(parts), extra, missing,
                    {h: [f for header, fs in by_header.items() if h in header for f in fs]
                     for h in extra})


# --- JSON lines ----------------------------------------------------------------------------
def _read_json(spark: SparkSession, raw: TableSpec, paths: list[str],
               drift: DriftPolicy) -> RawBatch:
    lines = _lines(spark, paths)
    declared = _fields(raw)
    # every line as [<line>, SENTINEL]: two elements, the first a JSON object, else malformed
    wrapped = F.from_json(F.concat(F.lit("["), F.col("value"), F.lit(f",{_SENTINEL_JSON}]")),
                          "array<string>", _JSON_OPTIONS)
    obj = F.from_json(wrapped[0], EXTRA_TYPE, _JSON_OPTIONS)
    one = (wrapped.isNotNull() & (F.size(wrapped) == 2)
           & (wrapped[1] == F.lit(_SENTINEL)))
    parsed = (lines.select(SOURCE_FILE, "value", RAW_BYTES, "__invalid",
                           F.when(one, obj).alias("m"))
              .withColumn("__keys", F.map_keys("m")))
    keys = (parsed.select(F.col(SOURCE_FILE), F.explode("__keys").alias("k"))
            .groupBy("k").agg(F.sort_array(F.collect_set(SOURCE_FILE)).alias("files"))
            .collect())
    seen = {r.k: r.files for r in keys}
    undeclared = [k for k in sorted(seen) if k not in declared]
    variants = _case_variants(declared, undeclared)
    unusable = _unusable(raw, undeclared, variants, drift)
    extra = [k for k in undeclared if k not in variants and k not in unusable]
    missing = [c for c in declared if c not in seen]
    keep_extra = _drift(raw, extra, missing, drift, {(k,): seen[k] for k in extra})
    has = F.col("__keys")
    structural = F.coalesce(
        F.col("__invalid"),
        F.when(F.col("m").isNull(), F.lit(
            "malformed line: not exactly one JSON object (broken or single-quoted JSON, a "
            "second object or text after it)")),
        F.when(F.size(has) != F.size(F.array_distinct(has)),
               F.lit("malformed line: duplicate key(s)")),
        *[F.when(F.array_contains(has, v), F.lit(
            f"{variants[v]}: key {v!r} differs only in case from the declared column"))
          for v in variants],
        *[F.when(F.array_contains(has, k), F.lit(
            f"key {k!r} is not a usable column name (declare an {EXTRA} map<string,string> "
            f"column to keep such keys)")) for k in unusable])
    extra_map = []
    if _has_extra(raw):
        known = F.array(*[F.lit(c) for c in declared])
        extra_map = [F.map_filter("m", lambda k, v: ~F.array_contains(known, k))
                     .alias(_text_name(EXTRA))]
    stage = parsed.select(SOURCE_FILE, F.col("value").alias(RAW_RECORD), RAW_BYTES,
                          structural.alias("__structural"),
                          *[F.col("m")[c].alias(_text_name(c))
                            for c in [*declared, *keep_extra]], *extra_map)
    return RawBatch(_finish(stage, raw.columns, keep_extra), extra, missing,
                    {k: list(seen[k]) for k in extra})


# --- Parquet ------------------------------------------------------------------------------
def _read_parquet(spark: SparkSession, raw: TableSpec, paths: list[str],
                  drift: DriftPolicy) -> RawBatch:
    # Files are grouped by their columns (from the footers), as CSV files by their header: a
    # column that differs only in case from a declared one is a reason for every row of its
    # file, never Spark's case-insensitive match (which reads `Amount` as `amount`, or fails
    # with COLUMN_ALREADY_EXISTS / AMBIGUOUS_REFERENCE when a file has both).
    by_columns: dict[tuple[str, ...], list[str]] = {}
    for path, columns in parquet_columns(paths).items():
        by_columns.setdefault(tuple(columns), []).append(path)
    declared = _fields(raw)
    names = list(dict.fromkeys(c for columns in by_columns for c in columns))
    undeclared = [c for c in names if c not in declared]
    variants = _case_variants(declared, undeclared)
    unusable = _unusable(raw, undeclared, variants, drift)
    extra = [c for c in undeclared if c not in variants and c not in unusable]
    missing = [c for c in declared if c not in names]
    keep_extra = _drift(raw, extra, missing, drift, by_columns)
    parts = [_parquet_group(spark, raw, list(columns), group, variants, unusable, extra,
                            keep_extra) for columns, group in by_columns.items()]
    return RawBatch(_union(parts), extra, missing,
                    {c: [f for columns, fs in by_columns.items() if c in columns for f in fs]
                     for c in extra})


def _parquet_group(spark: SparkSession, raw: TableSpec, columns: list[str], paths: list[str],
                   variants: dict[str, str], unusable: list[str], extra: list[str],
                   keep_extra: list[str]) -> DataFrame:
    """The stage rows of parquet files that share ``columns``."""
    declared = _fields(raw)
    reasons = [f"{variants[c]}: column {c!r} differs only in case from the declared column"
               for c in columns if c in variants]
    reasons += [f"column {c!r} is not a usable column name" for c in columns if c in unusable]
    clash = len({c.lower() for c in columns}) < len(columns)
    previous = spark.conf.get("spark.sql.caseSensitive")
    if clash:  # only a case-sensitive read can tell `amount` from `Amount` in one file
        spark.conf.set("spark.sql.caseSensitive", "true")
    try:
        df = spark.read.option("mergeSchema", "true").parquet(*paths)
        text = [(F.col(f"`{c}`").cast("string") if c in columns
                 else F.lit(None).cast("string")).alias(_text_name(c))
                for c in [*declared, *keep_extra]]
        record = F.to_json(F.struct(*[F.col(f"`{c}`") for c in columns]))
        mine = [c for c in columns if c in extra]
        extra_map = ([F.create_map(*[x for c in mine for x in (F.lit(c), F.col(f"`{c}`")
                                                               .cast("string"))])
                      .alias(_text_name(EXTRA))] if _has_extra(raw) and mine else [])
        stage = df.select(F.col("_metadata.file_path").alias(SOURCE_FILE),
                          record.alias(RAW_RECORD), F.lit(None).cast("binary").alias(RAW_BYTES),
                          F.lit("; ".join(reasons) if reasons else None).cast("string")
                          .alias("__structural"), *text, *extra_map)
        if clash:
            # read now, while the session is case-sensitive: the cached scan keeps its reader,
            # and the stage's own columns are unique whatever the case rules
            stage = stage.persist(StorageLevel.MEMORY_AND_DISK)
            stage.count()
    finally:
        if clash:
            spark.conf.set("spark.sql.caseSensitive", previous or "false")
    return _finish(stage, raw.columns, keep_extra)


# --- shared --------------------------------------------------------------------------------
def _lines(spark: SparkSession, paths: list[str]) -> DataFrame:
    """Non-blank lines with their file (blank lines are not records), a file's byte order
    mark removed; a line that is not valid UTF-8 keeps its bytes in ``_raw_bytes``, its text
    (with U+FFFD replacements) in ``value`` and a reason in ``__invalid``."""
    text = spark.read.text(paths).select(
        "value", F.col("_metadata.file_path").alias(SOURCE_FILE))
    # Java decodes invalid UTF-8 as U+FFFD: the bytes change exactly when the text is invalid
    # (checked before any string function, as each of them would decode the line that way)
    invalid = F.col("value").cast("binary") != F.encode("value", "UTF-8")
    return (text.where(F.trim("value") != "")
            .select(F.regexp_replace("value", "^\ufeff", "").alias("value"), SOURCE_FILE,
                    F.when(invalid, F.col("value").cast("binary")).alias(RAW_BYTES),
                    F.when(invalid, F.lit("malformed line: not valid UTF-8 (its bytes are kept "
                                          f"in {RAW_BYTES})")).alias("__invalid")))


def _fields(raw: TableSpec) -> list[str]:
    """The declared columns a record's fields map to (all but ``_extra``)."""
    return [c.name for c in raw.columns if c.name != EXTRA]


def _has_extra(raw: TableSpec) -> bool:
    return any(c.name == EXTRA for c in raw.columns)


def _unusable(raw: TableSpec, names: list[str], variants: dict[str, str],
              drift: DriftPolicy) -> list[str]:
    """Undeclared names that ``evolve`` cannot make columns (``""``, spaces, dots...): a reason
    for the lines that have them. A declared ``_extra`` keeps them; ``fail`` and ``ignore``
    treat them as any other undeclared name."""
    if _has_extra(raw) or drift != "evolve":
        return []
    return [n for n in names if n not in variants and not _COLUMN_NAME.match(n)]


def _case_variants(declared: list[str], names: list[str]) -> dict[str, str]:
    """Names that equal a declared column but for case (Spark and Delta would take them for
    the same column), keyed by the name found."""
    lower = {d.lower(): d for d in declared}
    return {n: lower[n.lower()] for n in names if n.lower() in lower}


def _text_name(column: str) -> str:
    return f"__text_{column}"


def _finish(stage: DataFrame, columns: list[ColumnSpec], extra: list[str]) -> DataFrame:
    """From ``__text_<col>`` strings and ``__structural`` to typed columns and ``_reasons``."""
    typed_cols, reasons = [], [F.col("__structural")]
    for c in columns:
        if c.name == EXTRA:
            value = (F.col(f"`{_text_name(EXTRA)}`") if _text_name(EXTRA) in stage.columns
                     else F.create_map().cast(EXTRA_TYPE))
            typed_cols.append(value.alias(EXTRA))
            continue
        text = F.col(f"`{_text_name(c.name)}`")
        value = typed_expr(c)
        shown = F.concat(F.lit(f"{c.name}: '"), F.substring(text, 1, 60), F.lit("' "))
        if c.type.startswith("timestamp") or c.type == "date":
            # Parquet readers other than Spark cannot represent these, and before 1900 the
            # calendars disagree: a reason, not a value
            out_of_range = (value < F.lit(MIN_TS).cast(c.type)) | (
                value >= F.lit(MAX_TS).cast(c.type))
            reasons.append(F.when(out_of_range, F.concat(shown, F.lit(
                f"is outside the supported range {MIN_TS} .. 9999-12-31"))))
            value = F.when(~out_of_range, value)
        if c.type in ("double", "float"):
            not_finite = F.isnan(value) | (F.abs(value) == F.lit(float("inf")))
            reasons.append(F.when(not_finite, F.concat(shown, F.lit("is not a finite number"))))
            value = F.when(~not_finite, value)
        typed_cols.append(value.alias(c.name))
        if c.type != "string":
            reasons.append(F.when(
                text.isNotNull() & typed_expr(c).isNull(),
                F.concat(shown, F.lit(f"is not a valid {c.type}"
                                      + (f" ({c.format})" if c.format else "")))))
        if not c.nullable:
            reasons.append(F.when(text.isNull() & F.col("__structural").isNull(),
                                  F.lit(f"{c.name}: missing (declared not null)")))
    typed_cols += [F.col(f"`{_text_name(x)}`").alias(x) for x in extra]
    return stage.select(SOURCE_FILE, RAW_RECORD, RAW_BYTES, *typed_cols,
                        F.filter(F.array(*reasons), lambda r: r.isNotNull()).alias(REASONS))


def typed_expr(c: ColumnSpec) -> Column:
    """The text column of ``c`` as its declared type; null where it does not parse.

    ``try_cast`` rather than ``cast``: "1.5" is not silently truncated into the int 1. With a
    ``format``, a value that does not match it is tried once more with one-digit fields allowed
    (``2025-6-20 8:10:0`` under ``yyyy-MM-dd HH:mm:ss``).
    """
    name = f"`{_text_name(c.name)}`"
    if c.format and (c.type.startswith("timestamp") or c.type == "date"):
        lenient = re.sub(r"(?<![A-Za-z])(MM|dd|HH|mm|ss)(?![A-Za-z])", lambda m: m.group(1)[0],
                         c.format)
        parsed = F.expr(f"try_to_timestamp({name}, '{c.format}')")
        if lenient != c.format:
            parsed = F.coalesce(parsed, F.expr(f"try_to_timestamp({name}, '{lenient}')"))
        return F.to_date(parsed) if c.type == "date" else parsed.cast(c.type)
    if c.type == "string":
        return F.col(name)
    return F.expr(f"try_cast({name} AS {c.type})")
def validate_types(raw: TableSpec, spark: SparkSession) -> None:
    """Raise a ConfigError naming the column when a declared type is not a Spark SQL type."""
    for c in raw.columns:
        if c.name == EXTRA and c.type.replace(" ", "") != EXTRA_TYPE:
            raise ConfigError(f"tables.{raw.name}.columns.{EXTRA}.type: {c.type!r}; the column "
                              f"that keeps undeclared keys must be {EXTRA_TYPE}")
        try:
            T._parse_datatype_string(c.type)  # noqa: SLF001 - the parser Spark itself uses
        except Exception:
            raise ConfigError(f"tables.{raw.name}.columns.{c.name}.type: {c.type!r} is not a "
                              f"Spark SQL type (string, int, bigint, double, decimal(10,2), "
                              f"boolean, date, timestamp)") from None


def _drift(raw: TableSpec, extra: list[str], missing: list[str], drift: DriftPolicy,
           where: dict[tuple[str, ...], list[str]]) -> list[str]:
    """The undeclared columns to keep as columns (``evolve``); raises under ``fail``. With a
    declared ``_extra`` column, undeclared keys are kept there and are not drift."""
    if _has_extra(raw):
        extra = []
    if not extra and not missing:
        return []
    files = sorted({f for fs in where.values() for f in fs})
    detail = (f"extra column(s) {extra}" if extra else "") + (
        (", " if extra and missing else "") + f"missing column(s) {missing}" if missing else "")
    if drift == "fail":
        raise SchemaDriftError(
            f"table {raw.name}: the new batch has {detail} compared with the declared schema "
            f"(files: {', '.join(files[:5])}{' ...' if len(files) > 5 else ''}); declare the "
            f"columns in the catalog or set schema_drift to ignore/evolve")
    log.warning("table %s: schema drift (%s); policy %s", raw.name, detail, drift)
    return extra if drift == "evolve" else []


def _too_many(raw: TableSpec, batch: RawBatch, cap: int) -> None:
    """Stop a batch that would add more than ``cap`` columns, naming the file with the most."""
    per_file: dict[str, list[str]] = {}
    for column in batch.extra_columns:
        for f in batch.extra_files.get(column, []):
            per_file.setdefault(f, []).append(column)
    worst = max(sorted(per_file), key=lambda f: len(per_file[f]), default=None)
    where = (f"; {worst} alone has {len(per_file[worst])} ({', '.join(per_file[worst][:5])}"
             f"{', ...' if len(per_file[worst]) > 5 else ''})" if worst else "")
    raise SchemaDriftError(
        f"table {raw.name}: the new batch would add {len(batch.extra_columns)} columns under "
        f"schema_drift: evolve, more than max_new_columns ({cap}){where}; declare the columns "
        f"in the catalog, declare an {EXTRA} map<string,string> column, or raise "
        f"max_new_columns of the bronze table")


def _union(parts: list[DataFrame]) -> DataFrame:
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p, allowMissingColumns=True)
    return out
