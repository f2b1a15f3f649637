"""Shared logic of the categorical stages: category statistics in one job, mapping, unseen policy.

Policy shared by every encoder (and the rare-label grouper and categorical imputer):

- Categories are compared as strings (the column cast to string), so ``1`` and ``"1"`` are one
  category; any column type is accepted.
- Missing values are not a category: null, and NaN in a float/double column (as for the
  imputers and ``MissingIndicator``); fit ignores them and transform maps them to null
  (one-hot: null in every indicator). Impute first (``CategoricalImputer``, strategy
  ``missing``) to treat missing as its own category.
- ``handleUnseen`` says what happens to a category not seen at fit time:
  ``error`` (default, as MLlib's handleInvalid) fails the job naming the stage, column and
  value; ``keep`` maps it to a reserved value documented per stage (ordinal: the next code,
  count/frequency: 0, target/mean: the prior, WoE: 0, one-hot: all zeros, rare label:
  the rare label); ``null`` maps it to null.

>>> df = spark.createDataFrame([("DE", "a"), ("DE", "b"), ("FR", "a")], ["country", "segment"])
>>> stats = category_stats(df, ["country", "segment"])
>>> stats["country"]["DE"].count, sorted(stats["segment"])
(2, ['a', 'b'])
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import chain
from typing import Any, ClassVar

from pyspark.ml.param.shared import HasInputCols
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from features.base import STATS_PROVIDER, check_choice
from features.checks import require_columns, require_numeric
from features.params import UNSEEN_POLICIES, HasHandleUnseen, HasInOutCols
from features.persistence import DataRow, FittedModel

log = logging.getLogger(f"lakeprep.{__name__}")

LARGE_CARDINALITY = 100_000
TOTAL = ""  # key of the all-rows statistics in category_stats (no column has an empty name)


@dataclass(frozen=True)
class CategoryStat:
    """Rows and (optionally) label sum of one category, overall or in one fold."""

    count: int
    label_sum: float = 0.0


class _EncoderParams(HasInOutCols, HasHandleUnseen):
    """Params shared by the encoders: columns and the unseen-category policy."""

    def validate_encoder(self, df: DataFrame) -> None:
        stage = type(self).__name__
        check_choice(stage, "handleUnseen", self.getOrDefault(self.handleUnseen), UNSEEN_POLICIES)
        require_columns(df, self.getInputCols(), stage)
        self.check_outputs(df)


class _CategoryModel(FittedModel, HasInputCols):
    """A fitted encoder: per input column, the categories seen at fit and a value for each.

    Its data has one row per input column: ``column``, ``categories`` (an array of strings)
    and ``VALUE_FIELD`` (an array as long, the value of each category), as MLlib's
    ``StringIndexerModel`` keeps its labels in arrays.
    """

    VALUE_FIELD: ClassVar[str] = ""

    def mapping(self, column: str) -> dict[str, Any]:
        """The fitted value of each category of ``column`` (empty when it had none)."""
        row = self.rows_by_column().get(column)
        if row is None:
            return {}
        return dict(zip(row["categories"], row[self.VALUE_FIELD], strict=True))

    @property
    def encoder_dict_(self) -> dict[str, dict[str, Any]]:
        """The fitted value of every category, per column."""
        return {c: self.mapping(c) for c in self.getInputCols()}

    @classmethod
    def rows_from_pairs(cls, pairs: Mapping[str, list[list[Any]]]) -> list[DataRow]:
        """Rows from the former layout's ``{column: [[category, value], ...]}``."""
        return [{"column": c, "categories": [p[0] for p in ps],
                 cls.VALUE_FIELD: [p[1] for p in ps]} for c, ps in pairs.items()]


def as_category(column: str) -> Column:
    """The column as the string the encoders compare; NaN of a float column is null (missing).

    The type test is on the value's SQL type, so the string "NaN" in a string column stays a
    category; only a floating NaN is missing, as for the imputers and the missing indicator.
    """
    col = F.col(column)
    floating = F.typeof(col).isin("double", "float")
    return F.when(floating & F.isnan(col.cast("double")), F.lit(None).cast("string")) \
        .otherwise(col.cast("string"))


def category_stats(df: DataFrame, cols: list[str], label_col: str | None = None,
                   fold: Column | None = None, with_totals: bool = False) -> dict[str, dict]:
    """Count (and sum the label of) every category of every column in ONE Spark job.

    Returns ``{col: {category: CategoryStat}}``, or with ``fold`` given
    ``{col: {(category, fold): CategoryStat}}``. Only the per-category aggregate reaches the
    driver, never the rows. Null categories are skipped; with ``label_col`` rows with a null or
    NaN label are skipped too. ``with_totals`` adds the key ``TOTAL`` holding the statistics
    of all rows (per fold with ``fold``), whatever their categories.
    """
    provider = STATS_PROVIDER.get()
    if provider is not None:  # a fused fit answers from its shared value-count pass
        return dict(provider.category_stats(df, cols, label_col, fold, with_totals))
    if label_col is not None:
        require_numeric(df, [label_col], "category_stats")
        label = F.col(label_col).cast("double")
        df = df.where(label.isNotNull() & ~F.isnan(label))
    entries = [(i, as_category(c)) for i, c in enumerate(cols)]
    if with_totals:
        entries.append((len(cols), F.lit("")))
    pairs = F.array(*[F.struct(F.lit(i).alias("i"), v.alias("v")) for i, v in entries])
    extra = [F.col(label_col).cast("double").alias("_y")] if label_col else []
    if fold is not None:
        extra.append(fold.alias("_fold"))
    long = df.select(F.explode(pairs).alias("_p"), *extra).where(F.col("_p.v").isNotNull())
    keys = [F.col("_p.i").alias("i"), F.col("_p.v").alias("v")]
    if fold is not None:
        keys.append(F.col("_fold"))
    aggs = [F.count("*").alias("n")]
    if label_col:
        aggs.append(F.coalesce(F.sum("_y"), F.lit(0.0)).alias("s"))
    rows = long.groupBy(*keys).agg(*aggs).collect()
    if len(rows) > LARGE_CARDINALITY:
        log.warning("category_stats: %d (column, category) pairs reached the driver; consider "
                    "RareLabelEncoder first for high-cardinality columns", len(rows))
    names = [*cols, TOTAL] if with_totals else list(cols)
    out: dict[str, dict] = {c: {} for c in names}
    for r in rows:
        key = (r["v"], r["_fold"]) if fold is not None else r["v"]
        out[names[r["i"]]][key] = CategoryStat(r["n"], r["s"] if label_col else 0.0)
    return out


def frequency_order(stats: dict[str, CategoryStat]) -> list[str]:
    """Categories by count descending, ties by category ascending (deterministic)."""
    return sorted(stats, key=lambda v: (-stats[v].count, v))


def literal_map(mapping: dict) -> Column | None:
    """A Spark map literal of ``mapping`` (None when empty: Spark has no typed empty literal)."""
    if not mapping:
        return None
    return F.create_map(*chain.from_iterable((F.lit(k), F.lit(v)) for k, v in mapping.items()))


def unseen_value(policy: str, stage: str, column: str, value: Column, keep: Column) -> Column:
    """The output for an unseen category under ``policy`` (error, keep, null)."""
    if policy == "keep":
        return keep
    if policy == "null":
        return F.lit(None)
    return F.raise_error(F.concat(
        F.lit(f"{stage}: category '"), value,
        F.lit(f"' in column '{column}' was not seen at fit time; set handleUnseen to "
              "'keep' or 'null' to accept unseen categories"),
    ))


def map_categories(column: str, mapping: dict, policy: str, stage: str, keep: Column,
                   key: Column | None = None) -> Column:
    """Map a categorical column through ``mapping``; null stays null, unseen follows ``policy``.

    ``key`` overrides the lookup key (the target encoder looks up ``fold|category``); it must
    be null exactly where the category is null.
    """
    value = as_category(column)
    lookup = value if key is None else key
    m = literal_map(mapping)
    if m is None:
        return F.when(value.isNull(), F.lit(None)).otherwise(
            unseen_value(policy, stage, column, value, keep))
    return (F.when(value.isNull(), F.lit(None))
            .when(F.array_contains(F.map_keys(m), lookup), m[lookup])
            .otherwise(unseen_value(policy, stage, column, value, keep)))
