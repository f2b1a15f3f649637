r"""Raw files (CSV, JSON lines, Parquet) into typed rows, each with the reasons it is unusable.

Text is read as lines first, so every rejected row keeps its raw record and source file, and
every reason names the column: ``amount: '12,50' is not a valid double``, and is data too
(``_problems``: code ``not_a_double``, column ``amount``, value ``12,50``, and the message; see
:mod:`lakeprep.ingest.problems`). Types come from the
catalog (no inference); CSV columns are matched by their header names, not by position.

Column mapping: a declared column is found under its name or one of its ``source`` aliases
(ignoring case when the source sets ``case_insensitive``), per file, so several header
generations of one source land in one table; two fields of one file that map onto one column
stop the batch with a ConfigError naming the file and both fields. A column with ``expr`` is
computed from the raw text of the declared columns (by their declared names) and then parsed
like a read field. Schema drift errors name each offending file with its missing and extra
columns, one line per file.

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

>>> import pathlib, tempfile
>>> from lakeprep.config import TableSpec
>>> from lakeprep.storage import glob_files
>>> with tempfile.TemporaryDirectory() as folder:
...     _ = pathlib.Path(folder, "orders.csv").write_text('order_id,amount\n1,12.50\n2,"12,50"\n')
...     spec = TableSpec.model_validate({
...         "name": "raw_orders", "layer": "raw", "location": folder,
...         "source": {"format": "csv", "path": f"{folder}/*.csv"},
...         "columns": [{"name": "order_id", "type": "int"}, {"name": "amount", "type": "double"}]})
...     batch = read_raw(spark, spec, glob_files(spark, f"{folder}/*.csv"))
...     rows = batch.rows.orderBy("order_id").collect()
>>> [(r._raw_record, r.order_id, r.amount, r._reasons) for r in rows]
[('1,12.50', 1, 12.5, []), ('2,"12,50"', 2, None, ["amount: '12,50' is not a valid double"])]
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakeprep.config import ColumnSpec, TableSpec
from lakeprep.errors import ConfigError, InputError, SchemaDriftError
from lakeprep.frames import cache, quoted
from lakeprep.ingest.columns import (
    EXTRA,
    EXTRA_TYPE,
    PROBLEMS,
    RAW_BYTES,
    RAW_HEADER,
    RAW_RECORD,
    REASONS,
    SOURCE_FILE,
)
from lakeprep.ingest.problems import (
    CASE_CLASH,
    DUPLICATE_KEY,
    INVALID_UTF8,
    MALFORMED_LINE,
    MISSING_REQUIRED,
    NOT_FINITE,
    OUT_OF_RANGE,
    PROBLEMS_TYPE,
    UNUSABLE_NAME,
    as_problems,
    messages,
    not_a,
    problem,
)
from lakeprep.storage import FileInfo, parquet_columns, read_text_head

log = logging.getLogger(f"lakeprep.{__name__}")

MIN_TS, MAX_TS = "1900-01-01", "10000-01-01"  # supported range of timestamps and dates: [MIN, MAX)
# Closes the array a JSON line is wrapped in: a line that parses as [<line>,SENTINEL] with exactly
# two objects, the second the sentinel, is exactly one JSON object (no second object, no
# trailing text), parsed once.
_SENTINEL, _SENTINEL_JSON = "\x00lakeprep-end", '{"\\u0000lakeprep-end":""}'
_JSON_OPTIONS = {"allowSingleQuotes": "false", "mode": "PERMISSIVE"}
# the texts a non-numeric number (a bare NaN, Infinity, -Infinity) gets as a map's string value
_QUOTED_NON_NUMBERS = ('"NaN"', '"Infinity"', '"-Infinity"')
_COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DriftPolicy = Literal["fail", "ignore", "evolve"]


@dataclass
class RawBatch:
    """Parsed rows (declared columns, plus ``_source_file``, ``_raw_record``, ``_raw_header``,
    ``_problems`` and their messages, ``_reasons``)."""

    rows: DataFrame
    extra_columns: list[str]  # columns the files have that the schema does not declare
    missing_columns: list[str]  # declared columns no file of the batch has
    extra_files: dict[str, list[str]] = field(default_factory=dict)  # extra column -> its files

    def settle(self, file_keys: dict[str, list[str]], rows: DataFrame | None = None,
               max_new_columns: int | None = None) -> RawBatch:
        """The batch itself (its files' fields were known when it was parsed), with ``rows``
        in place of its rows if given (e.g. a cache of them); see :class:`PendingBatch`."""
        return self if rows is None else replace(self, rows=rows)


@dataclass
class PendingBatch:
    """JSON lines parsed in one pass before their files' keys are known: each line's values
    are found under its columns' names (a file holds a column under one name only, which the
    keys confirm), its keys are kept as ``KEYSET`` (sorted, as JSON text: a few distinct
    values, which a cache stores as a dictionary) and, under ``evolve``, its undeclared keys
    as ``UNDECLARED``. The pass that reads the rows (e.g. the one filling a cache) collects
    each file's keys (:func:`file_keys`); :meth:`settle` then checks them as the CSV and
    Parquet readers check their headers before parsing (drift policy, two names for one
    column) and gives the batch."""

    rows: DataFrame
    raw: TableSpec
    drift: DriftPolicy

    def settle(self, file_keys: dict[str, list[str]], rows: DataFrame | None = None,
               max_new_columns: int | None = None) -> RawBatch:
        """The batch of the files with ``file_keys`` (file -> its keys): ``rows`` (default:
        this batch's; the ingest passes its cache of them) with the extra columns ``evolve``
        keeps and without the key columns. Raises ``SchemaDriftError`` or ``ConfigError`` as
        the files' keys call for."""
        rows = self.rows if rows is None else rows
        maps = {path: map_fields(self.raw, keys, path, "key")
                for path, keys in sorted(file_keys.items())}  # in file order: deterministic
        extra, _, _, missing = _batch_fields(self.raw, maps.values(), self.drift)
        keep_extra = _drift(self.raw, maps, extra, missing, self.drift)
        batch = RawBatch(rows, extra, missing, _files_of(maps, extra))
        if (max_new_columns is not None and self.drift == "evolve" and not _has_extra(self.raw)
                and len(extra) > max_new_columns):
            _too_many(self.raw, batch, max_new_columns)
        if keep_extra:
            rows = rows.select("*", *[F.col(UNDECLARED)[x].alias(x) for x in keep_extra])
        return replace(batch, rows=rows.drop(KEYSET, UNDECLARED))


KEYSET = "__lakeprep_keys"  # a JSON line's keys, sorted, as JSON text (PendingBatch)
UNDECLARED = "__lakeprep_undeclared"  # a JSON line's keys that evolve may add as columns


def file_keys(pairs: Iterable[tuple[str, str | None]]) -> dict[str, list[str]]:
    """Each file's keys from ``(file, KEYSET)`` pairs (a malformed line has none: a file
    without any key is left out, as nothing of it maps anywhere).

    >>> file_keys([("a.jsonl", '["id","x"]'), ("a.jsonl", '["id"]'), ("b.jsonl", None)])
    {'a.jsonl': ['id', 'x']}
    """
    out: dict[str, set[str]] = {}
    for path, keys in pairs:
        found = json.loads(keys) if keys is not None else []
        if found:
            out.setdefault(path, set()).update(found)
    return {path: sorted(keys) for path, keys in out.items()}


@dataclass(frozen=True)
class FieldMap:
    """How the fields of one file (CSV header, JSON keys, Parquet columns) map onto the declared
    columns: by each column's name and ``source`` aliases, ignoring case if the source says so."""

    taken: dict[str, str]  # declared column -> the file's field that holds it
    undeclared: list[str]  # fields no declared column claims
    variants: dict[str, str]  # undeclared field -> the column it names but for case


def map_fields(raw: TableSpec, fields: Sequence[str], where: str, kind: str = "header"
               ) -> FieldMap:
    """Map ``fields`` of the file ``where``; two fields onto one column is a ConfigError."""
    fold = raw.source is not None and raw.source.case_insensitive
    owner = {(n.lower() if fold else n): c.name for c in raw.columns if c.name != EXTRA
             for n in c.names}
    taken: dict[str, str] = {}
    undeclared = []
    for f in fields:
        column = owner.get(f.lower() if fold else f)
        if column is None:
            undeclared.append(f)
        elif column in taken:
            raise ConfigError(
                f"{where}: {kind}s {taken[column]!r} and {f!r} both map to the column "
                f"{column!r} (tables.{raw.name}.columns.{column}.source); a file may hold a "
                f"column under one name only")
        else:
            taken[column] = f
    variants = {} if fold else _case_variants(owner, undeclared)
    return FieldMap(taken, undeclared, variants)


def read_raw(spark: SparkSession, raw: TableSpec, files: list[FileInfo],
             drift: DriftPolicy = "fail", max_new_columns: int = 50) -> RawBatch:
    """Parse ``files`` of the raw table ``raw`` with its declared schema.

    Under ``evolve``, a batch that would add more than ``max_new_columns`` columns stops with
    a ``SchemaDriftError`` naming the file that brings the most (one stray line must not grow
    the table by hundreds of columns). JSON lines take a pass to learn their files' keys; the
    ingest job learns them in the pass that fills its cache instead (:func:`scan_raw`).
    """
    batch = scan_raw(spark, raw, files, drift, max_new_columns)
    if isinstance(batch, PendingBatch):
        pairs = batch.rows.select(SOURCE_FILE, KEYSET).distinct().collect()
        return batch.settle(file_keys((r[0], r[1]) for r in pairs),
                            max_new_columns=max_new_columns)
    return batch


def scan_raw(spark: SparkSession, raw: TableSpec, files: list[FileInfo],
             drift: DriftPolicy = "fail", max_new_columns: int = 50
             ) -> RawBatch | PendingBatch:
    """:func:`read_raw` without a pass of its own: JSON lines come back pending, their files'
    keys to be collected by the caller's pass over the rows (see :class:`PendingBatch`)."""
    assert raw.source is not None
    paths = [f.path for f in files]
    fmt = raw.source.format
    if fmt == "parquet":
        batch: RawBatch | PendingBatch = _read_parquet(spark, raw, paths, drift)
    elif fmt == "json":
        return parse_lines(raw, _lines(spark, paths), drift)
    else:
        by_header: dict[str, list[str]] = {}
        for path in paths:
            header = read_text_head(spark, path).lstrip("\ufeff")
            if not header.strip():
                raise InputError(f"{path}: empty file or no header line (table {raw.name})")
            by_header.setdefault(header, []).append(path)
        batch = parse_lines(raw, {h: (group, _lines(spark, group))
                                  for h, group in by_header.items()}, drift)
    assert isinstance(batch, RawBatch)
    if drift == "evolve" and not _has_extra(raw) and len(batch.extra_columns) > max_new_columns:
        _too_many(raw, batch, max_new_columns)
    return batch


def parse_lines(raw: TableSpec, lines: DataFrame | dict[str, tuple[list[str], DataFrame]],
                drift: DriftPolicy = "fail") -> RawBatch | PendingBatch:
    """Parse text records (``value``, ``_source_file``, ``_raw_bytes``, ``__invalid``): JSON
    lines (pending their files' keys), or CSV lines by their files' header line (header line
    -> (files, lines))."""
    if isinstance(lines, dict):
        return _parse_csv(raw, lines, drift)
    return _parse_json(raw, lines, drift)


def records_as_lines(spark: SparkSession, raw: TableSpec, records: DataFrame
                     ) -> DataFrame | dict[str, tuple[list[str], DataFrame]]:
    """Quarantined records (``_source_file``, ``_raw_record``, ``_raw_bytes``, ``_raw_header``)
    as :func:`parse_lines` takes them. A CSV record is read with the header line kept beside
    it (records set aside before ``_raw_header`` existed: its file's first line); a Parquet
    record is the row as a JSON object, so it is parsed as a JSON line."""
    if RAW_HEADER not in records.columns:
        records = records.withColumn(RAW_HEADER, F.lit(None).cast("string"))
    lines = records.select(
        F.col(RAW_RECORD).alias("value"), SOURCE_FILE, RAW_BYTES, RAW_HEADER,
        _invalid_utf8(F.col(RAW_BYTES).isNotNull(), F.col(RAW_RECORD)).alias("__invalid"))
    if raw.source is None or raw.source.format != "csv":
        return lines.drop(RAW_HEADER)
    pairs = lines.select(SOURCE_FILE, RAW_HEADER).distinct().collect()
    if not pairs:
        return {}
    heads = {p[SOURCE_FILE]: p[RAW_HEADER] for p in pairs if p[RAW_HEADER] is not None}
    for path in sorted({p[SOURCE_FILE] for p in pairs if p[RAW_HEADER] is None}):
        try:
            heads.setdefault(path, read_text_head(spark, path).lstrip("\ufeff"))
        except Exception as e:  # noqa: BLE001 - reported with what to do
            raise InputError(f"{path}: its quarantined records keep no header line and the "
                             f"file cannot be read for it ({e.__class__.__name__}); restore "
                             f"the file to replay them") from None
    by_header: dict[str, list[str]] = {}
    for path, header in heads.items():
        by_header.setdefault(header, []).append(path)
    filled = lines.withColumn(RAW_HEADER, F.coalesce(RAW_HEADER, F.element_at(
        F.create_map(*[x for p, h in heads.items() for x in (F.lit(p), F.lit(h))]),
        F.col(SOURCE_FILE))))
    return {h: (files, filled.where(F.col(RAW_HEADER) == h).drop(RAW_HEADER))
            for h, files in by_header.items()}


# --- CSV -----------------------------------------------------------------------------------
def _parse_csv(raw: TableSpec, by_header: dict[str, tuple[list[str], DataFrame]],
               drift: DriftPolicy) -> RawBatch:
    opts = dict(raw.source.options) if raw.source else {}
    sep = opts.get("sep", opts.get("delimiter", ","))
    quote = opts.get("quote", '"')
    maps: dict[str, FieldMap] = {}
    header_of: dict[str, tuple[str, ...]] = {}
    for line, (files, _) in by_header.items():
        header = tuple(next(csv.reader(io.StringIO(line), delimiter=sep, quotechar=quote), []))
        header_of[line] = header
        maps.update({path: map_fields(raw, header, path) for path in files})
    extra, variants, unusable, missing = _batch_fields(raw, maps.values(), drift)
    keep_extra = _drift(raw, maps, extra, missing, drift)
    parts = []
    for line, (files, lines) in by_header.items():
        header, fields = header_of[line], maps[files[0]]
        # the header line itself, wherever it repeats (a BOM is already gone)
        lines = lines.where(F.col("value") != line)
        schema = ", ".join(f"`c{i}` string" for i in range(len(header)))
        parsed = F.from_csv("value", schema, {**opts, "sep": sep, "quote": quote,
                                             "mode": "PERMISSIVE"})
        # Count fields outside quoted sections: from_csv pads short lines with nulls and drops
        # the tail of long ones, so a wrong field count would otherwise pass unseen.
        unquoted = F.regexp_replace("value", f'{re.escape(quote)}([^{re.escape(quote)}]|'
                                             f'{re.escape(quote)}{{2}})*{re.escape(quote)}', "")
        n_fields = F.size(F.split(unquoted, re.escape(sep), -1))
        structural = (F.when(F.instr(unquoted, quote) > 0, problem(
            MALFORMED_LINE, None, F.col("value"), "malformed line: unclosed quote"))
                      .when(n_fields != len(header), problem(
                          MALFORMED_LINE, None, F.col("value"),
                          F.concat(F.lit("malformed line: "), n_fields.cast("string"),
                                   F.lit(f" fields, the header has {len(header)}")))))
        by_name = {h: F.col("p")[f"c{i}"] for i, h in enumerate(header)}
        field_of = {**fields.taken, **{x: x for x in keep_extra if x in header}}
        # an empty CSV field is a missing value
        text = [(F.when(by_name[field_of[c]] != "", by_name[field_of[c]]) if c in field_of
                 else F.lit(None).cast("string")).alias(_text_name(c))
                for c in [*_fields(raw), *keep_extra]]
        # whole-file problems are the reasons of every line of the file
        header_problems = [problem(CASE_CLASH, variants[v], F.lit(v),
                                   f"{variants[v]}: header {v!r} differs only in case from the "
                                   f"declared column") for v in header if v in variants]
        header_problems += [problem(UNUSABLE_NAME, None, F.lit(h),
                                    f"header {h!r} is not a usable column name")
                            for h in header if h in unusable]
        structural = _first_of(F.col("__invalid"),
                               *([F.array(*header_problems)] if header_problems else []),
                               _alone(structural))
        extra_map = None
        if _has_extra(raw):
            # undeclared headers, as a map; absent (empty field) values are left out
            pairs = [(F.lit(h), by_name[h]) for h in header if h in extra]
            extra_map = (F.map_filter(F.create_map(*[x for kv in pairs for x in kv]),
                                      lambda k, v: v.isNotNull() & (v != ""))
                         if pairs else F.create_map().cast(EXTRA_TYPE))
        stage = (lines.select(F.col(SOURCE_FILE), "value", F.col("value").alias(RAW_RECORD),
                              RAW_BYTES, "__invalid", parsed.alias("p"))
                 .select(SOURCE_FILE, RAW_RECORD, RAW_BYTES, F.lit(line).alias(RAW_HEADER),
                         structural.alias("__structural"),
                         *text, *([extra_map.alias(_text_name(EXTRA))]
                                  if extra_map is not None else [])))
        parts.append(_finish(stage, raw.columns, keep_extra))
    return RawBatch(_union(parts), extra, missing, _files_of(maps, extra))


# --- JSON lines ----------------------------------------------------------------------------
def _parse_json(raw: TableSpec, lines: DataFrame, drift: DriftPolicy) -> PendingBatch:
    # every line as [<line>, SENTINEL]: two objects, the second the sentinel, else malformed
    wrapped = F.from_json(F.concat(F.lit("["), F.col("value"), F.lit(f",{_SENTINEL_JSON}]")),
                          f"array<{EXTRA_TYPE}>", _JSON_OPTIONS)
    one = (wrapped.isNotNull() & (F.size(wrapped) == 2)
           & (wrapped[1][_SENTINEL] == F.lit("")))
    parsed = (lines.select(SOURCE_FILE, "value", RAW_BYTES, "__invalid",
                           F.when(one, wrapped[0]).alias("m"))
              # sorted (sort_array is compiled; array_sort is a lambda Spark interprets)
              .withColumn("__keys", F.sort_array(F.map_keys("m"))))
    fold = raw.source is not None and raw.source.case_insensitive
    owner = {n: c.name for c in raw.columns if c.name != EXTRA for n in c.names}
    lower = {n.lower(): c for n, c in owner.items()}
    names = F.array(*[F.lit(n) for n in owner]) if owner else F.array().cast("array<string>")
    lowers = F.array(*[F.lit(n) for n in lower]) if lower else F.array().cast("array<string>")

    def declared(k: Column) -> Column:  # a name or alias of a declared column
        return F.array_contains(lowers, F.lower(k)) if fold else F.array_contains(names, k)

    def variant(k: Column) -> Column:  # a declared name but for case (ignoring case: none)
        if fold:
            return F.lit(False)
        return ~F.array_contains(names, k) & F.array_contains(lowers, F.lower(k))

    def usable(k: Column) -> Column:
        return k.rlike(_COLUMN_NAME.pattern)

    has = F.col("__keys")
    keeps_names = drift == "evolve" and not _has_extra(raw)
    # The keys no declared column claims (usually none): only they can clash or be unusable.
    # Higher-order functions (filter) run interpreted, so they only look at a line that has
    # such keys.
    parsed = parsed.withColumn("__others", F.filter(has, lambda k: ~declared(k)) if fold
                               else F.array_except(has, names))
    others = F.col("__others")
    some = F.size(others) > 0
    # the first (in sorted order) key of the line that names a column but for case, and the
    # first that cannot be a column: as the CSV and Parquet readers do for a file's header
    clash = F.when(some, F.array_min(F.filter(others, variant)))
    unusable = (F.when(some, F.array_min(F.filter(others, lambda k: ~variant(k) & ~usable(k))))
                if keeps_names else F.lit(None).cast("string"))
    column_of = F.create_map(*[x for n, c in lower.items() for x in (F.lit(n), F.lit(c))]) \
        if lower else F.create_map().cast("map<string,string>")
    repeated = F.filter(F.array_distinct(has),
                        lambda k: F.size(F.filter(has, lambda x: x == k)) > 1)
    structural = _first_of(F.col("__invalid"), *map(_alone, [
        F.when(F.col("m").isNull(), problem(
            MALFORMED_LINE, None, F.col("value"),
            "malformed line: not exactly one JSON object (broken or single-quoted JSON, a "
            "second object or text after it)")),
        F.when(F.size(has) != F.size(F.array_distinct(has)), problem(
            DUPLICATE_KEY, None, F.array_join(repeated, ", "),
            "malformed line: duplicate key(s)")),
        F.when(clash.isNotNull(), problem(
            CASE_CLASH, F.element_at(column_of, F.lower(clash)), clash,
            F.concat(F.element_at(column_of, F.lower(clash)), F.lit(": key '"), clash,
                     F.lit("' differs only in case from the declared column")))),
        F.when(unusable.isNotNull(), problem(
            UNUSABLE_NAME, None, unusable,
            F.concat(F.lit("key '"), unusable, F.lit(
                f"' is not a usable column name (declare an {EXTRA} map<string,string> "
                f"column to keep such keys)"))))]))
    extra_map = []
    if _has_extra(raw):
        extra_map = [F.when(some, F.map_filter("m", lambda k, v: ~declared(k)))
                     .otherwise(F.create_map().cast(EXTRA_TYPE)).alias(_text_name(EXTRA))]
    undeclared = ([F.when(some, F.map_filter(
        "m", lambda k, v: ~declared(k) & ~variant(k) & usable(k))).alias(UNDECLARED)]
        if keeps_names else [])

    def text(c: ColumnSpec) -> Column:
        if fold:  # the value under whichever spelling of a name the line has
            spelled = F.map_filter("m", lambda k, v: F.array_contains(
                F.array(*[F.lit(n.lower()) for n in c.names]), F.lower(k)))
            found = F.element_at(F.map_values(spelled), 1)
        else:
            found = F.coalesce(*[F.col("m")[n] for n in c.names])
        # Spark writes a non-numeric number (NaN, Infinity) it reads as text in quotes
        return F.when(found.isin(*_QUOTED_NON_NUMBERS), F.translate(found, '"', "")
                      ).otherwise(found)

    stage = parsed.select(SOURCE_FILE, F.col("value").alias(RAW_RECORD), RAW_BYTES,
                          F.lit(None).cast("string").alias(RAW_HEADER),
                          structural.alias("__structural"),
                          *[text(c).alias(_text_name(c.name)) for c in raw.columns
                            if c.name != EXTRA],
                          *extra_map, F.to_json(has).alias(KEYSET), *undeclared)
    return PendingBatch(_finish(stage, raw.columns, [], keep=[KEYSET, *(
        [UNDECLARED] if undeclared else [])]), raw, drift)


# --- Parquet -------------------------------------------------------------------------------
def _read_parquet(spark: SparkSession, raw: TableSpec, paths: list[str],
                  drift: DriftPolicy) -> RawBatch:
    # Files are grouped by their columns (from the footers), as CSV files by their header: each
    # group is one header generation with its own mapping. A column that differs only in case
    # from a declared one is a reason for every row of its file, never Spark's case-insensitive
    # match (which reads `Amount` as `amount`, or fails with COLUMN_ALREADY_EXISTS /
    # AMBIGUOUS_REFERENCE when a file has both).
    by_columns: dict[tuple[str, ...], list[str]] = {}
    for path, columns in parquet_columns(paths).items():
        by_columns.setdefault(tuple(columns), []).append(path)
    maps = {p: map_fields(raw, cols, p, "column") for cols, group in by_columns.items()
            for p in group}
    extra, variants, unusable, missing = _batch_fields(raw, maps.values(), drift)
    keep_extra = _drift(raw, maps, extra, missing, drift)
    parts = [_parquet_group(spark, raw, list(cols), group, maps[group[0]], variants, unusable,
                            extra, keep_extra) for cols, group in by_columns.items()]
    return RawBatch(_union(parts), extra, missing, _files_of(maps, extra))


def _parquet_group(spark: SparkSession, raw: TableSpec, columns: list[str], paths: list[str],
                   fields: FieldMap, variants: dict[str, str], unusable: list[str],
                   extra: list[str], keep_extra: list[str]) -> DataFrame:
    """The stage rows of the parquet files that share ``columns``."""
    reasons = [problem(CASE_CLASH, variants[c], F.lit(c),
                       f"{variants[c]}: column {c!r} differs only in case from the declared "
                       f"column") for c in columns if c in variants]
    reasons += [problem(UNUSABLE_NAME, None, F.lit(c), f"column {c!r} is not a usable column "
                                                       f"name") for c in columns if c in unusable]
    clash = len({c.lower() for c in columns}) < len(columns)
    previous = spark.conf.get("spark.sql.caseSensitive")
    if clash:  # only a case-sensitive read can tell `amount` from `Amount` in one file
        spark.conf.set("spark.sql.caseSensitive", "true")
    try:
        df = spark.read.option("mergeSchema", "true").parquet(*paths)
        field_of = {**fields.taken, **{x: x for x in keep_extra if x in columns}}
        text = [(F.col(f"`{field_of[c]}`").cast("string") if c in field_of
                 else F.lit(None).cast("string")).alias(_text_name(c))
                for c in [*_fields(raw), *keep_extra]]
        record = F.to_json(F.struct(*quoted(columns)))
        mine = [c for c in columns if c in extra]
        extra_map = ([F.create_map(*[x for c in mine for x in (F.lit(c), F.col(f"`{c}`")
                                                               .cast("string"))])
                      .alias(_text_name(EXTRA))] if _has_extra(raw) and mine else [])
        stage = df.select(F.col("_metadata.file_path").alias(SOURCE_FILE),
                          record.alias(RAW_RECORD), F.lit(None).cast("binary").alias(RAW_BYTES),
                          F.lit(None).cast("string").alias(RAW_HEADER),
                          _first_of(*([F.array(*reasons)] if reasons else []))
                          .alias("__structural"), *text, *extra_map)
        if clash:
            # read now, while the session is case-sensitive: the cached scan keeps its reader,
            # and the stage's own columns are unique whatever the case rules
            stage = cache(stage)
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
    readable = F.regexp_replace("value", "^\ufeff", "")  # decoded: U+FFFD where invalid
    return (text.where(F.trim("value") != "")
            .select(readable.alias("value"), SOURCE_FILE,
                    F.when(invalid, F.col("value").cast("binary")).alias(RAW_BYTES),
                    _invalid_utf8(invalid, readable).alias("__invalid")))


def _invalid_utf8(invalid: Column, text: Column) -> Column:
    """The problem of a line that is not valid UTF-8 (null for a valid one), as the one-element
    array a line's structural problems are."""
    return F.when(invalid, as_problems(F.array(problem(
        INVALID_UTF8, None, text,
        f"malformed line: not valid UTF-8 (its bytes are kept in {RAW_BYTES})"))))


def _first_of(*candidates: Column) -> Column:
    """A line's structural problems: the first of ``candidates`` (arrays of problems, null
    where they do not apply) that applies; null when none does."""
    if not candidates:
        return F.lit(None).cast(PROBLEMS_TYPE)
    return F.coalesce(*[as_problems(c) for c in candidates])


def _alone(p: Column) -> Column:
    """A problem struct (null where it does not apply) as a one-element array (or null)."""
    return F.when(p.isNotNull(), F.array(p))


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


def _case_variants(owner: dict[str, str], names: list[str]) -> dict[str, str]:
    """Names that equal a declared column's name or alias (``owner``: name -> column) but for
    case (Spark and Delta would take them for the same column), keyed by the name found."""
    lower = {n.lower(): c for n, c in owner.items()}
    return {n: lower[n.lower()] for n in names if n.lower() in lower}


def _batch_fields(raw: TableSpec, maps: Iterable[FieldMap], drift: DriftPolicy
                  ) -> tuple[list[str], dict[str, str], list[str], list[str]]:
    """Over the files of a batch: the extra fields (undeclared, usable names), the case
    variants, the unusable names, and the declared columns no file has."""
    maps = list(maps)
    undeclared = list(dict.fromkeys(f for m in maps for f in m.undeclared))
    variants = {k: v for m in maps for k, v in m.variants.items()}
    unusable = _unusable(raw, undeclared, variants, drift)
    extra = [f for f in undeclared if f not in variants and f not in unusable]
    missing = [c for c in _sourced(raw) if not any(c in m.taken for m in maps)]
    return extra, variants, unusable, missing


def _sourced(raw: TableSpec) -> list[str]:
    """The declared columns read from a field of the file (an ``expr`` column need not be)."""
    return [c.name for c in raw.columns if c.name != EXTRA and c.expr is None]


def _text_name(column: str) -> str:
    return f"__text_{column}"


def _derive(stage: DataFrame, columns: list[ColumnSpec]) -> DataFrame:
    """Each ``expr`` column's text from its expression over the raw text of the declared
    columns, seen under their declared names."""
    derived = {c.name: c.expr for c in columns if c.expr}
    if not derived:
        return stage
    plain = [c.name for c in columns if c.name != EXTRA]
    view = stage.select("*", *[F.col(f"`{_text_name(n)}`").alias(n) for n in plain])
    return view.select(*[
        F.expr(derived[c[len("__text_"):]]).cast("string").alias(c)
        if c.startswith("__text_") and c[len("__text_"):] in derived else F.col(f"`{c}`")
        for c in stage.columns])


def _finish(stage: DataFrame, columns: list[ColumnSpec], extra: list[str],
            keep: Sequence[str] = ()) -> DataFrame:
    """From ``__text_<col>`` strings and ``__structural`` (the line's problems) to typed columns,
    ``_problems`` and their messages, ``_reasons`` (and the columns ``keep`` as they are)."""
    stage = _derive(stage, columns)
    typed_cols: list[Column] = []
    problems: list[tuple[Column, Column]] = []  # (when it applies, the problem)
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
            problems.append((out_of_range, problem(OUT_OF_RANGE, c.name, text, F.concat(
                shown, F.lit(f"is outside the supported range {MIN_TS} .. 9999-12-31")))))
            value = F.when(~out_of_range, value)
        if c.type in ("double", "float"):
            not_finite = F.isnan(value) | (F.abs(value) == F.lit(float("inf")))
            problems.append((not_finite, problem(
                NOT_FINITE, c.name, text, F.concat(shown, F.lit("is not a finite number")))))
            value = F.when(~not_finite, value)
        typed_cols.append(value.alias(c.name))
        if c.type != "string":
            problems.append((
                text.isNotNull() & typed_expr(c).isNull(),
                problem(not_a(c.type), c.name, text, F.concat(shown, F.lit(
                    f"is not a valid {c.type}" + (f" ({c.format})" if c.format else ""))))))
        if not c.nullable:
            problems.append((text.isNull() & F.col("__structural").isNull(), problem(
                MISSING_REQUIRED, c.name, None, f"{c.name}: missing (declared not null)")))
    typed_cols += [F.col(f"`{_text_name(x)}`").alias(x) for x in extra]
    # Arrays are built only for the rows that have a problem: most rows have none, and the
    # filter over them is a higher-order function, which Spark interprets row by row.
    none = F.array().cast(PROBLEMS_TYPE)
    any_problem = F.col("__structural").isNotNull()
    for applies, _ in problems:
        any_problem = any_problem | applies
    found = F.when(any_problem, as_problems(F.concat(
        F.coalesce(F.col("__structural"), none),
        F.filter(as_problems(F.array(*[F.when(a, p) for a, p in problems])), lambda p:
                 p.isNotNull()) if problems else none))).otherwise(none)
    return (stage.select(SOURCE_FILE, RAW_RECORD, RAW_BYTES, RAW_HEADER, *typed_cols,
                         found.alias(PROBLEMS), *keep)
            .withColumn(REASONS, messages(F.col(PROBLEMS))))


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


def validate_types(raw: TableSpec, spark: SparkSession, where: str = "") -> None:
    """Raise a ConfigError naming the column when a declared type is not a Spark SQL type or
    an ``expr`` is not a Spark SQL expression over the declared columns (no Spark job runs)."""
    prefix = f"{where}: " if where else ""
    plain = [c.name for c in raw.columns if c.name != EXTRA]
    probe = spark.createDataFrame([], ", ".join(f"`{n}` string" for n in plain) or "x string")
    for c in raw.columns:
        if c.expr:
            try:
                probe.select(F.expr(c.expr))
            except AnalysisException as e:  # a ParseException too
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise ConfigError(f"{prefix}tables.{raw.name}.columns.{c.name}.expr: {c.expr!r} "
                                  f"is not a Spark SQL expression over the raw columns {plain}: "
                                  f"{first}") from None
        if c.name == EXTRA and c.type.replace(" ", "") != EXTRA_TYPE:
            raise ConfigError(f"{prefix}tables.{raw.name}.columns.{EXTRA}.type: {c.type!r}; "
                              f"the column that keeps undeclared keys must be {EXTRA_TYPE}")
        try:
            T._parse_datatype_string(c.type)  # noqa: SLF001 - the parser Spark itself uses
        except Exception:
            raise ConfigError(f"{prefix}tables.{raw.name}.columns.{c.name}.type: {c.type!r} "
                              f"is not a Spark SQL type (string, int, bigint, double, "
                              f"decimal(10,2), boolean, date, timestamp)") from None


def _drift(raw: TableSpec, maps: dict[str, FieldMap], extra: list[str], missing: list[str],
           drift: DriftPolicy) -> list[str]:
    """The undeclared columns to keep as columns (``evolve``); raises under ``fail``, naming
    each offending file with its missing and extra columns, one line per file. With a declared
    ``_extra`` column, undeclared keys are kept there and are not drift."""
    if _has_extra(raw):
        extra = []
    if not extra and not missing:
        return []
    lines = []
    for path, m in sorted(maps.items()):
        own_extra = [f for f in m.undeclared if f in extra]
        own_missing = [c for c in _sourced(raw) if c not in m.taken]
        if own_extra or set(own_missing) & set(missing):
            lines.append(f"{path}: " + "; ".join(
                ([f"missing {own_missing}"] if own_missing else [])
                + ([f"extra {own_extra}"] if own_extra else [])))
    detail = (f"extra column(s) {extra}" if extra else "") + (
        (", " if extra and missing else "") + f"missing column(s) {missing}" if missing else "")
    if drift == "fail":
        raise SchemaDriftError(
            f"table {raw.name}: the new batch has {detail} compared with the declared schema, "
            f"in {len(lines)} file(s); declare the columns, or a column's `source` aliases, in "
            f"the catalog (tables.{raw.name}.columns) or set schema_drift to ignore/evolve:\n"
            + "\n".join(lines))
    log.warning("table %s: schema drift (%s); policy %s:\n%s", raw.name, detail, drift,
                "\n".join(lines))
    return extra if drift == "evolve" else []


def _union(parts: list[DataFrame]) -> DataFrame:
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p, allowMissingColumns=True)
    return out


def _files_of(maps: dict[str, FieldMap], extra: list[str]) -> dict[str, list[str]]:
    """Each extra column's files."""
    return {c: [p for p, m in maps.items() if c in m.undeclared] for c in extra}


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
