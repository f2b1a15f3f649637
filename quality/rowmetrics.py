"""Per-expectation counts and failing-value samples of the row-level expectations, in ONE pass.

Every row-level expectation that :mod:`quality.predicates` compiles is evaluated here instead of
by Great Expectations: one aggregation returns, per expectation, the unexpected count and the
count of rows GE would consider (non-null, or not ignored for pairs and compound keys), from the
predicates or from the array column of failed labels the quarantine tags rows with. GE on Spark
would run one more job per expectation to fetch ``partial_unexpected_list`` and one per
uniqueness / pair expectation.

The aggregation holds only counts (longs), so it stays one code-generated hash aggregate. Samples
come after it, only for the expectations that failed: one more job keeps the rows failing any of
them and picks, per expectation, at most ``sample_size`` distinct failing values (each slot the
value with the smallest / largest hash under its own order: bounded memory, whatever the number
of failing rows). Uniqueness expectations are screened by one aggregation of their keys'
64-bit hashes, shared by all keys, on whose input the counts are observed
(``DataFrame.observe``): one job reads the data for both. Only keys whose hashes repeat are
counted exactly (one more aggregation, which picks their samples too). A passing suite therefore
reads its input once, with or without uniqueness checks, and the job count never depends on the
suite's length.

>>> df = spark.createDataFrame([("A1", 3), ("X7", 1), ("B2", None)], "sku string, qty int")
>>> decl = SuiteDeclaration.from_mapping({"table": "orders", "name": "orders", "expectations": [
...     {"expect_column_values_to_not_be_null": {"column": "qty"}},
...     {"expect_column_values_to_match_regex": {"column": "sku", "regex": "^[A-W]"}}]},
...     source="orders.yml")
>>> m = compute(df, decl, sample_size=5)  # one aggregation, then one job for the samples
>>> m.rows, m.unexpected, m.samples
(3, {0: 1, 1: 1}, {0: [None], 1: ['X7']})
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import Column, DataFrame, Observation
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakeprep.config.suites import ExpectationDeclaration, SuiteDeclaration
from lakeprep.frames import one_row
from lakeprep.ingest.problems import EXPECTATION, as_problems, problem
from quality.compile import is_row_level
from quality.predicates import row_predicate, supports_predicate

# GE's null-expectations look at every row (no nonnull_count in their result).
_NULL_EXPECTATIONS = {"expect_column_values_to_not_be_null", "expect_column_values_to_be_null"}
# Evaluated over a key-only aggregation (count per key), never a per-row window.
UNIQUE_EXPECTATIONS = {"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"}
_KEY = "__lakeprep_key"
_COUNT = "__lakeprep_count"


@dataclass(frozen=True)
class RowMetrics:
    """What one pass found, keyed by the expectation's position in the suite."""

    rows: int
    unexpected: dict[int, int] = field(default_factory=dict)
    considered: dict[int, int | None] = field(default_factory=dict)
    samples: dict[int, list[Any]] = field(default_factory=dict)
    passed: int | None = None
    quarantined: int | None = None
    values: dict[str, Any] = field(default_factory=dict)


def computed_here(item: ExpectationDeclaration) -> bool:
    """True when this module (not GE) evaluates the expectation: row-level with a predicate."""
    return is_row_level(item.type) and supports_predicate(item.type)


def labels(decl: SuiteDeclaration) -> dict[int, str]:
    """Unique tag names for the row-level expectations, keyed by position in the suite."""
    out: dict[int, str] = {}
    for i, item in enumerate(decl.expectations):
        if is_row_level(item.type):
            label = item.label()
            out[i] = label if label not in out.values() else f"{label}#{i}"
    return out


def tag_column(decl: SuiteDeclaration, names: dict[int, str]) -> Column:
    """An array of the labels (``names``) of the expectations a row fails; empty when none."""
    tags = [F.when(~row_predicate(decl.expectations[i]), F.lit(label))
            for i, label in names.items()]
    return F.array_compact(F.array(*tags)) if tags else F.array().cast("array<string>")


def problems_column(decl: SuiteDeclaration, names: dict[int, str], failed_column: str,
                    schema: T.StructType) -> Column:
    """The problems of a row tagged with the labels (``names``) it failed, as data
    (:mod:`lakeprep.ingest.problems`): per label, the code ``expectation:<type>``, the
    expectation's column(s), the row's value(s) there as text, and the label as the message."""
    types = {f.name: f.dataType for f in schema.fields}

    def value(columns: list[str]) -> Column | None:
        if not columns or not all(isinstance(types.get(c), T.AtomicType) for c in columns):
            return None
        shown = [_col(c).cast("string") for c in columns]
        return shown[0] if len(shown) == 1 else F.concat_ws(", ", *shown)

    def one(label: Column) -> Column:
        out: Column | None = None
        for i, name in names.items():
            item = decl.expectations[i]
            columns = item.columns()
            found = problem(EXPECTATION + item.type, ", ".join(columns) or None,
                            value(columns), label)
            out = F.when(label == name, found) if out is None else out.when(label == name, found)
        return out if out is not None else problem(EXPECTATION, None, None, label)

    return as_problems(F.transform(_col(failed_column), one))


def _col(name: str) -> Column:
    return F.col(f"`{name}`")


def is_unique(item: ExpectationDeclaration) -> bool:
    """True for the uniqueness expectations (evaluated over a count per key)."""
    return item.type in UNIQUE_EXPECTATIONS


def _key(item: ExpectationDeclaration) -> tuple[str, ...]:
    """The key's distinct columns, in a canonical order: equal sets share one aggregation."""
    kw = item.kwargs
    columns = kw["column_list"] if "column_list" in kw else [kw["column"]]
    return tuple(sorted(dict.fromkeys(str(c) for c in columns)))


def _all_null(columns: tuple[str, ...]) -> Column:
    out = F.lit(True)
    for c in columns:
        out = out & _col(c).isNull()
    return out


def _duplicated(columns: tuple[str, ...]) -> Column:
    # GE's uniqueness: a row fails when its key occurs more than once and is not all null.
    return (F.col(_COUNT) > 1) & ~_all_null(columns)


def _key_counts(df: DataFrame, keys: list[tuple[str, ...]]) -> DataFrame:
    """Rows per distinct value of each key, for all keys in one aggregation over key columns.

    Each row is expanded into one (key index, key columns) row per key, with the other keys'
    columns null; only these columns are shuffled (after a map-side partial count).
    """
    columns = list(dict.fromkeys(c for k in keys for c in k))
    types = dict(zip(columns, [f.dataType for f in df.select(*map(_col, columns)).schema],
                     strict=True))
    if len(keys) == 1:
        expanded = df.select(F.lit(0).alias(_KEY), *[_col(c).alias(c) for c in columns])
    else:
        structs = [F.struct(F.lit(k).alias(_KEY), *[
            (_col(c) if c in key else F.lit(None).cast(types[c])).alias(c) for c in columns])
            for k, key in enumerate(keys)]
        expanded = df.select(F.explode(F.array(*structs)).alias("e")).select("e.*")
    return expanded.groupBy(_KEY, *[_col(c) for c in columns]).agg(
        F.count(F.lit(1)).alias(_COUNT))


def _key_hash(df: DataFrame, columns: tuple[str, ...]) -> Column | None:
    """A 64-bit hash of the key, equal for values Spark's grouping calls equal (``-0.0`` and
    ``0.0`` too); None when a column is nested (then only the exact count will do)."""
    types = {f.name: f.dataType for f in df.schema.fields}
    parts = []
    for c in columns:
        dtype = types.get(c)
        if dtype is None or isinstance(dtype, T.ArrayType | T.MapType | T.StructType):
            return None
        if isinstance(dtype, T.FloatType | T.DoubleType):  # NaNs hash alike already
            parts.append(F.when(_col(c) == 0, F.lit(0.0).cast(dtype)).otherwise(_col(c)))
        else:
            parts.append(_col(c))
    return F.xxhash64(*parts)


def _hashable(df: DataFrame, keys: list[tuple[str, ...]]) -> bool:
    """True when every key can be screened by its hash (no nested column)."""
    return all(_key_hash(df, key) is not None for key in keys)


def _key_screen(df: DataFrame, keys: list[tuple[str, ...]]) -> tuple[set[int], list[int]]:
    """The positions in ``keys`` of the keys that may have duplicates, and per key the rows
    with a non-null key: one aggregation of 64-bit hashes (longs shuffled, not the key
    columns), for every key at once.

    Equal values hash alike, so a key left out has no duplicate; a key in the set has one or,
    very rarely, a hash collision: callers count those keys exactly, over their values. A key
    with a nested column cannot be hashed: it is a suspect, and no job runs.
    """
    if not _hashable(df, keys):
        return set(range(len(keys))), []
    hashes = []
    for k, key in enumerate(keys):
        h = _key_hash(df, key)
        assert h is not None  # _hashable
        hashes.append(F.when(~_all_null(key), F.struct(F.lit(k).alias(_KEY), h.alias("h"))))
    expanded = (df.select(F.explode(F.array(*hashes)).alias("e")).where(F.col("e").isNotNull())
                .select("e.*"))
    counts = expanded.groupBy(_KEY, "h").count()
    mine = [F.col(_KEY) == k for k in range(len(keys))]
    got = one_row(counts.agg(
        *[F.count(F.when(m & (F.col("count") > 1), F.lit(1))).alias(f"k{k}")
          for k, m in enumerate(mine)],
        *[F.coalesce(F.sum(F.when(m, F.col("count"))), F.lit(0)).alias(f"n{k}")
          for k, m in enumerate(mine)]))
    return ({k for k in range(len(keys)) if got[f"k{k}"]},
            [int(got[f"n{k}"]) for k in range(len(keys))])


def duplicate_keys(df: DataFrame, columns: tuple[str, ...], prefix: str) -> DataFrame:
    """The duplicated values of one key (columns renamed ``{prefix}{j}``), for a join back."""
    return (df.select(*[_col(c).alias(c) for c in columns])
            .groupBy(*[_col(c) for c in columns]).agg(F.count(F.lit(1)).alias(_COUNT))
            .filter(_duplicated(columns))
            .select(*[_col(c).alias(f"{prefix}{j}") for j, c in enumerate(columns)]))


# Above this many duplicated values, a key is tagged with a window instead of a broadcast join.
BROADCAST_DUPLICATES = 100_000


def _duplicate_counts(df: DataFrame, keys: list[tuple[str, ...]]) -> dict[int, int]:
    """How many distinct duplicated values each key has: one key-only aggregation (job)."""
    counts = _key_counts(df, keys)
    dup = F.lit(False)
    for k, key in enumerate(keys):
        dup = dup | ((F.col(_KEY) == k) & _duplicated(key))
    got = counts.filter(dup).groupBy(_KEY).count().collect()
    return {int(r[_KEY]): int(r["count"]) for r in got}


def tag_frame(df: DataFrame, decl: SuiteDeclaration, names: dict[int, str],
              failed_column: str) -> DataFrame:
    """``df`` with ``failed_column``: the :func:`tag_column` array, cheaper for uniqueness.

    One key-only aggregation counts each distinct uniqueness key's duplicated values: a key
    without duplicates tags no row (no shuffle at all); one with a few has them broadcast and
    joined back (null-safe); only one with many keeps the per-row window.
    """
    keys = list(dict.fromkeys(_key(decl.expectations[i]) for i in names
                              if is_unique(decl.expectations[i])))
    suspects = sorted(_key_screen(df, keys)[0]) if keys else []
    exact = _duplicate_counts(df, [keys[k] for k in suspects]) if suspects else {}
    duplicated = {suspects[j]: n for j, n in exact.items()}
    joined = df
    flags: dict[tuple[str, ...], Column | None] = {}
    for k, columns in enumerate(keys):
        n = duplicated.get(k, 0)
        if n == 0:
            flags[columns] = F.lit(False)
        elif n > BROADCAST_DUPLICATES:
            flags[columns] = None  # the window in row_predicate
        else:
            prefix = f"__lakeprep_d{k}_"
            dups = duplicate_keys(df, columns, prefix).withColumn(f"__lakeprep_dup{k}",
                                                                  F.lit(True))
            on = [_col(c).eqNullSafe(F.col(f"{prefix}{j}")) for j, c in enumerate(columns)]
            cond = on[0]
            for extra in on[1:]:
                cond = cond & extra
            joined = joined.join(F.broadcast(dups), on=cond, how="left")
            flags[columns] = F.col(f"__lakeprep_dup{k}").isNotNull()
    tags = []
    for i, label in names.items():
        item = decl.expectations[i]
        failed = flags.get(_key(item)) if is_unique(item) else None
        tags.append(F.when(~row_predicate(item) if failed is None else failed, F.lit(label)))
    tag = F.array_compact(F.array(*tags)) if tags else F.array().cast("array<string>")
    return joined.select(*[_col(c) for c in df.columns], tag.alias(failed_column))


def _value(item: ExpectationDeclaration) -> Column:
    """What GE lists as an unexpected value: the value, the (A, B) pair or the key's columns."""
    kw = item.kwargs
    if "column_list" in kw:
        return F.struct(*[_col(c).alias(str(c)) for c in kw["column_list"]])
    if "column_A" in kw:
        return F.struct(_col(kw["column_A"]).alias("a"), _col(kw["column_B"]).alias("b"))
    return _col(kw["column"])


def _considered(item: ExpectationDeclaration) -> Column | None:
    """True for the rows GE counts in the denominator (None: every row, no nonnull count)."""
    kw = item.kwargs
    if item.type in _NULL_EXPECTATIONS:
        return None
    if "column_list" in kw:
        mode = kw.get("ignore_row_if", "all_values_are_missing")
        if mode == "never":
            return F.lit(True)
        nulls = [_col(c).isNull() for c in kw["column_list"]]
        ignored = nulls[0]
        for n in nulls[1:]:
            ignored = (ignored | n) if mode == "any_value_is_missing" else (ignored & n)
        return ~ignored
    if "column_A" in kw:
        a, b = _col(kw["column_A"]), _col(kw["column_B"])
        mode = kw.get("ignore_row_if", "both_values_are_missing")
        if mode == "neither":
            return F.lit(True)
        if mode == "either_value_is_missing":
            return a.isNotNull() & b.isNotNull()
        return a.isNotNull() | b.isNotNull()
    return _col(kw["column"]).isNotNull()


def _slot_key(k: int) -> int:
    """XOR with the value's hash gives each pair of slots its own order (key 0: the hash)."""
    key = (k * 0x9E3779B97F4A7C15) % 2**64  # odd multiplier: distinct keys for every k
    return key - 2**64 if key >= 2**63 else key


def _hash(item: ExpectationDeclaration) -> Column:
    return F.xxhash64(_value(item))


def _boxed(item: ExpectationDeclaration) -> Column:
    """The failing value in a struct (``v``): a slot that took a null value is not empty."""
    return F.struct(_value(item).alias("v"))


def _sample_slots(hashed: Column, boxed: Column, size: int) -> list[Column]:
    """``size`` aggregates, each the failing value (``boxed``) with the smallest (largest) hash
    under its own order, as JSON; ``hashed`` is null on passing rows, which no slot then takes.

    Each slot keeps one value: memory is bounded whatever the number of failing rows. Distinct
    values hash apart, so the slots pick distinct values (two at least, when there are). Only
    the picked values are turned into JSON, after the aggregation.
    """
    slots = []
    for key in map(_slot_key, range((size + 1) // 2)):
        order = hashed.bitwiseXOR(F.lit(key)) if key else hashed
        slots += [F.to_json(F.min_by(boxed, order)), F.to_json(F.max_by(boxed, order))]
    return slots[:size]


def _decode(item: ExpectationDeclaration, picked: list[str | None], size: int) -> list[Any]:
    """The distinct values of the slots, in slot order, as GE lists them."""
    values: list[Any] = []
    for text in dict.fromkeys(p for p in picked if p is not None):
        value = json.loads(text).get("v")
        if "column_A" in item.kwargs and isinstance(value, dict):
            value = [value.get("a"), value.get("b")]
        values.append(value)
    return values[:size]


def _samples(df: DataFrame, decl: SuiteDeclaration, flags: dict[int, Column],
             size: int) -> dict[int, list[Any]]:
    """One job, run only when some expectation failed: ``size`` failing values of each.

    ``flags`` are the failed expectations' flags (True on a failing row): their predicates, or
    lookups in the quarantine's tags. Rows failing none of them leave before the aggregation.
    """
    any_failed = F.lit(False)
    for flag in flags.values():
        any_failed = any_failed | flag
    projected = df.where(any_failed).select(*[
        c for i, flag in flags.items() for c in (
            F.when(flag, _hash(decl.expectations[i])).alias(f"h{i}"),
            F.when(flag, _boxed(decl.expectations[i])).alias(f"v{i}"))])
    got = one_row(projected.agg(*[
        slot.alias(f"s{i}_{j}") for i in flags
        for j, slot in enumerate(_sample_slots(F.col(f"h{i}"), F.col(f"v{i}"), size))]))
    return {i: _decode(decl.expectations[i], [got[f"s{i}_{j}"] for j in range(size)], size)
            for i in flags}


def _unique_metrics(df: DataFrame, decl: SuiteDeclaration, indices: list[int],
                    size: int, suspects: set[int]) -> dict[str, Any]:
    """``u{i}`` and the sample slots of uniqueness expectations.

    A row fails when its key's count is above 1, so the unexpected count is the sum of the
    counts above 1, and the failing values are the duplicated keys. One aggregation of the
    keys' hashes clears the keys without duplicates (a passing suite's only shuffle); the keys
    it cannot clear (``suspects``: their positions among the distinct keys of ``indices``, from
    :func:`_key_screen`) are counted exactly in one more aggregation, over their values.
    """
    keys = _keys_of(decl, indices)
    got: dict[str, Any] = {f"u{i}": 0 for i in indices}
    got.update({f"s{i}_{j}": None for i in indices for j in range(size)})
    indices = [i for i in indices if keys.index(_key(decl.expectations[i])) in suspects]
    if not indices:
        return got
    keys = _keys_of(decl, indices)
    counts = _key_counts(df, keys)
    aggs: list[Column] = []
    for i in indices:
        item = decl.expectations[i]
        key = _key(item)
        dup = (F.col(_KEY) == keys.index(key)) & _duplicated(key)
        aggs.append(F.coalesce(F.sum(F.when(dup, F.col(_COUNT))), F.lit(0)).alias(f"u{i}"))
        if size:
            aggs += [slot.alias(f"s{i}_{j}") for j, slot in enumerate(
                _sample_slots(F.when(dup, _hash(item)), F.when(dup, _boxed(item)), size))]
    got.update(one_row(counts.agg(*aggs)))
    return got


def _keys_of(decl: SuiteDeclaration, indices: list[int]) -> list[tuple[str, ...]]:
    """The distinct keys of the uniqueness expectations at ``indices``, in their order."""
    return list(dict.fromkeys(_key(decl.expectations[i]) for i in indices))


def _screened(df: DataFrame, decl: SuiteDeclaration, keyed: list[int], columns: list[Column],
              aggs: list[Column], size: int) -> dict[str, Any]:
    """The one aggregation (``aggs`` over ``columns``) and the uniqueness checks at ``keyed``
    in one job: the aggregates are observed (``DataFrame.observe``) on the rows the key-hash
    screen reads, so the data is read once for both.

    Observed metrics are accumulators: a task run twice (a stage retried after a lost
    executor) would count twice. The screen counts each key's rows exactly, the observation
    counts them too; when they differ, the aggregation runs again on its own.
    """
    keys = _keys_of(decl, keyed)
    if not _hashable(df, keys):
        got = one_row(df.select(*columns).agg(*aggs))
        got.update(_unique_metrics(df, decl, keyed, size, set(range(len(keys)))))
        return got
    names = set(df.select(*columns).columns)
    watched = df.select(*columns, *[_col(c) for c in dict.fromkeys(c for k in keys for c in k)
                                    if c not in names])
    observation = Observation()
    keyed_rows = [F.count(F.when(~_all_null(key), F.lit(1))).alias(f"__lakeprep_keyed{k}")
                  for k, key in enumerate(keys)]
    suspects, rows = _key_screen(watched.observe(observation, *aggs, *keyed_rows), keys)
    got = dict(observation.get)
    if [got.pop(f"__lakeprep_keyed{k}") for k in range(len(keys))] != rows:
        got = one_row(df.select(*columns).agg(*aggs))
    got.update(_unique_metrics(df, decl, keyed, size, suspects))
    return got


def compute(df: DataFrame, decl: SuiteDeclaration, sample_size: int = 5,
            failed_column: str | None = None, extra: Sequence[Column] = (),
            extra_inputs: Sequence[str] = ()) -> RowMetrics:
    """Run the one aggregation over ``df`` for every expectation :func:`computed_here` accepts.

    With ``failed_column``, ``df`` already carries the tag array (the quarantine's tagged frame,
    built with :func:`tag_frame` and :func:`labels`) and the result also has ``passed`` and
    ``quarantined``; otherwise the predicates are evaluated inside the aggregation's job.
    ``extra`` are more aggregates (over the columns ``extra_inputs``) computed in the same
    aggregation, their values in ``RowMetrics.values`` by alias (``quality.tablemetrics``).
    Uniqueness without tags adds one key-only aggregation (which also picks its samples); the
    failing values of the other expectations take one more job, only when some failed.
    """
    names = {i: label for i, label in labels(decl).items()
             if computed_here(decl.expectations[i])}
    gate = failed_column is not None
    size = max(int(sample_size), 0)
    # Without tags, uniqueness comes from one key-only aggregation (_unique_metrics); the main
    # aggregation still counts its denominator.
    keyed = [] if gate else [i for i in names if is_unique(decl.expectations[i])]
    # One projection, then the aggregation: each flag (the predicate, or a lookup in the tags
    # the quarantine already computed) is evaluated once per row, and the aggregation only
    # counts. It holds no sample: a wide aggregation (more than spark.sql.codegen.maxFields,
    # 100, buffer fields) loses whole-stage code generation and runs several times slower.
    if gate:
        tags = F.col(f"`{failed_column}`")
        flag_of = {i: F.array_contains(tags, label) for i, label in names.items()}
    else:
        flag_of = {i: ~row_predicate(decl.expectations[i]) for i in names if i not in keyed}
    columns = [F.size(tags).alias("__lakeprep_n_failed")] if gate else []
    columns += [_col(c) for c in dict.fromkeys(extra_inputs)]
    aggs: list[Column] = [F.count(F.lit(1)).alias("rows"), *extra]
    if gate:
        aggs += [F.count(F.when(F.col("__lakeprep_n_failed") == 0, F.lit(1))).alias("passed"),
                 F.count(F.when(F.col("__lakeprep_n_failed") > 0, F.lit(1))).alias("quarantined")]
    for i in names:
        considered = _considered(decl.expectations[i])
        if considered is not None:
            columns.append(considered.alias(f"n{i}"))
            aggs.append(F.count(F.when(F.col(f"n{i}"), F.lit(1))).alias(f"c{i}"))
        if i in flag_of:
            columns.append(flag_of[i].alias(f"f{i}"))
            aggs.append(F.count(F.when(F.col(f"f{i}"), F.lit(1))).alias(f"u{i}"))
    if keyed:
        got = _screened(df, decl, keyed, columns, aggs, size)
    else:
        got = one_row(df.select(*columns).agg(*aggs))
    samples = {i: _decode(decl.expectations[i], [got[f"s{i}_{j}"] for j in range(size)], size)
               for i in keyed if size}
    failing = {i: flag for i, flag in flag_of.items() if got[f"u{i}"]}
    if size and failing:
        samples.update(_samples(df, decl, failing, size))
    return RowMetrics(
        rows=int(got["rows"]),
        unexpected={i: int(got[f"u{i}"]) for i in names},
        considered={i: (int(got[f"c{i}"]) if f"c{i}" in got else None) for i in names},
        samples={i: samples.get(i, []) for i in names},
        passed=int(got["passed"]) if gate else None,
        quarantined=int(got["quarantined"]) if gate else None,
        values=got,
    )
