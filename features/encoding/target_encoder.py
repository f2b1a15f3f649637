"""TargetEncoder: replaces categories by the smoothed mean of the label, fitted out of fold."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasLabelCol
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from features.base import InRange, Rule, check_params
from features.checks import require_columns
from features.encoding.base import (
    TOTAL,
    _CategoryModel,
    _EncoderParams,
    as_category,
    category_stats,
    literal_map,
    map_categories,
)
from features.errors import FeatureSpecError
from features.persistence import DataRow, StageReadable, StageWritable
from features.registry import register

log = logging.getLogger(f"lakeprep.{__name__}")


class _TargetEncoderParams(_EncoderParams, HasLabelCol):
    PARAM_RULES: dict[str, Rule] = {"smoothing": InRange(0.0), "folds": InRange(1)}

    smoothing = Param(Params._dummy(), "smoothing",
                      "m in (sum + m * prior) / (count + m); 0 is the plain category mean",
                      typeConverter=TypeConverters.toFloat)
    folds = Param(Params._dummy(), "folds",
                  "number of hash folds for out-of-fold encodings (1: none)",
                  typeConverter=TypeConverters.toInt)
    rowKeyCol = Param(Params._dummy(), "rowKeyCol",
                      "row key whose xxhash64 modulo folds assigns each row its fold",
                      typeConverter=TypeConverters.toString)
    foldCol = Param(Params._dummy(), "foldCol", "integer fold id column (instead of rowKeyCol)",
                    typeConverter=TypeConverters.toString)
    outOfFold = Param(Params._dummy(), "outOfFold",
                      "transform rows that carry the fold key with out-of-fold encodings",
                      typeConverter=TypeConverters.toBoolean)
    FORMER_PARAMS = {"prior": "fitted mean of the label over all fit rows",
                     "encodings": "fitted [category, encoding] pairs per column",
                     "foldEncodings": "fitted ['fold|category', out-of-fold encoding] per column"}

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(smoothing=0.0, folds=5, outOfFold=True)

    def fold_id(self) -> Column | None:
        """The fold of each row, or None when out-of-fold fitting is off."""
        if self.isDefined(self.foldCol):
            return F.col(self.getOrDefault(self.foldCol)).cast("long")
        if self.getOrDefault(self.folds) > 1 and self.isDefined(self.rowKeyCol):
            return F.pmod(F.xxhash64(F.col(self.getOrDefault(self.rowKeyCol))),
                          F.lit(self.getOrDefault(self.folds)))
        return None

    def fold_source(self) -> str | None:
        for p in (self.foldCol, self.rowKeyCol):
            if self.isDefined(p):
                return self.getOrDefault(p)
        return None


def smoothed(label_sum: float, count: int, prior: float, m: float) -> float:
    """(sum + m * prior) / (count + m), the prior when there is nothing to average."""
    return prior if count + m <= 0 else (label_sum + m * prior) / (count + m)


@register("target_encode")
class TargetEncoder(Estimator, _TargetEncoderParams, StageReadable, StageWritable):
    """Replaces categories by the mean of ``labelCol``, smoothed towards the global mean.

    Encoding = (sum_y + m * prior) / (n + m) with ``smoothing`` m (the formula of scikit-learn's
    TargetEncoder with a float smooth and of feature-engine's MeanEncoder). To keep the label
    from leaking into training rows, the fit also learns out-of-fold encodings: each row's fold
    is ``foldCol`` or ``xxhash64(rowKeyCol) % folds`` (deterministic, so fit and transform agree),
    and a row is encoded with statistics of the other folds only (prior included). The model
    uses them for every row that has the fold column while ``outOfFold`` is true - so
    ``Pipeline.fit`` feeds later stages leak-free values, and the training set is transformed
    out of fold. Before scoring new data that carries the same key, call
    ``model.setOutOfFold(False)`` (or drop the fold column) to use the all-rows encodings.
    With ``folds`` > 1 and neither rowKeyCol nor foldCol the fit fails rather than leak;
    ``folds=1`` turns out-of-fold fitting off.

    Rows with a null label are ignored at fit. Null category gives null; unseen categories with
    ``handleUnseen='keep'`` get the prior; a category seen only in a row's own fold gets that
    fold's prior.

    >>> df = spark.createDataFrame([(i, "DE" if i % 3 else "FR", i % 2) for i in range(12)],
    ...                            ["customer_id", "country", "purchased"])
    >>> te = TargetEncoder(inputCols=["country"], labelCol="purchased", rowKeyCol="customer_id",
    ...                    smoothing=10.0)
    >>> train = te.fit(df).transform(df)  # out-of-fold: a row's own label is not in its code
    >>> train.select("customer_id", "country").orderBy("customer_id").first()
    Row(customer_id=0, country=0.5384615384615384)
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    @keyword_only
    def __init__(self, *, inputCols: list[str] | None = None, outputCols: list[str] | None = None,
                 labelCol: str = "label", smoothing: float = 0.0, folds: int = 5,
                 rowKeyCol: str | None = None, foldCol: str | None = None, outOfFold: bool = True,
                 handleUnseen: str = "error") -> None:
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols: list[str] | None = None, outputCols: list[str] | None = None,
                  labelCol: str = "label", smoothing: float = 0.0, folds: int = 5,
                  rowKeyCol: str | None = None, foldCol: str | None = None, outOfFold: bool = True,
                  handleUnseen: str = "error") -> TargetEncoder:
        """Set the params given by keyword."""
        return self._set(**{k: v for k, v in self._input_kwargs.items() if v is not None})

    def _fit(self, dataset: DataFrame) -> TargetEncoderModel:
        stage, cols = type(self).__name__, self.getInputCols()
        m = self.getOrDefault(self.smoothing)
        check_params(self)
        if self.getOrDefault(self.folds) > 1 and self.fold_source() is None:
            raise FeatureSpecError(
                f"{stage}: folds={self.getOrDefault(self.folds)} needs rowKeyCol or foldCol to "
                "assign rows to folds reproducibly; set one, or folds=1 to fit without folds")
        self.validate_encoder(dataset)
        source = self.fold_source()
        require_columns(dataset, [self.getLabelCol(), *([source] if source else [])], stage)
        fold = self.fold_id()
        stats = category_stats(dataset, cols, self.getLabelCol(), fold, with_totals=True)
        if fold is None:
            total = stats[TOTAL].get("")
            prior = total.label_sum / total.count if total else 0.0
            rows = [{"column": c, "fold": None, "categories": sorted(stats[c]),
                     "encodings": [smoothed(s.label_sum, s.count, prior, m)
                                   for _, s in sorted(stats[c].items())]} for c in cols]
        else:
            prior, rows = fold_fit(stats, cols, m)
        model = TargetEncoderModel.with_rows(rows)._set(prior=prior)
        return self._copyValues(model)


def fold_fit(stats: dict[str, dict], cols: list[str], m: float) -> tuple[float, list[DataRow]]:
    """The prior, and the all-rows and out-of-fold encodings (rows of the model data) from
    per-(category, fold) statistics."""
    totals = stats[TOTAL]
    folds = sorted({f for _, f in totals})
    n_all = sum(s.count for s in totals.values())
    y_all = sum(s.label_sum for s in totals.values())
    prior = y_all / n_all if n_all else 0.0
    fold_prior = {}
    for f in folds:
        s = totals[("", f)]
        rest = n_all - s.count
        fold_prior[f] = (y_all - s.label_sum) / rest if rest else prior
    rows: list[DataRow] = []
    for c in cols:
        n_cat: dict[str, int] = {}
        y_cat: dict[str, float] = {}
        for (v, _), s in stats[c].items():
            n_cat[v] = n_cat.get(v, 0) + s.count
            y_cat[v] = y_cat.get(v, 0.0) + s.label_sum
        categories = sorted(n_cat)
        rows.append({"column": c, "fold": None, "categories": categories,
                     "encodings": [smoothed(y_cat[v], n_cat[v], prior, m) for v in categories]})
        for f in folds:
            encodings = []
            for v in categories:
                own = stats[c].get((v, f))
                n_out = n_cat[v] - (own.count if own else 0)
                y_out = y_cat[v] - (own.label_sum if own else 0.0)
                encodings.append(smoothed(y_out, n_out, fold_prior[f], m))
            rows.append({"column": c, "fold": f, "categories": categories,
                         "encodings": encodings})
    log.info("TargetEncoder: out-of-fold encodings over %d folds, prior %.6g", len(folds), prior)
    return prior, rows


class TargetEncoderModel(_CategoryModel, _TargetEncoderParams):
    """Applies out-of-fold encodings to rows with a fold key (while outOfFold), else all-rows.

    Model data (``data/``): one row per input column and fold, ``column STRING, fold BIGINT,
    categories ARRAY<STRING>, encodings ARRAY<DOUBLE>``: ``fold`` null holds the encodings
    fitted on all rows (used for new data), fold f those fitted without fold f's rows (used
    for the rows of fold f while ``outOfFold``). The label's mean over all fit rows (the
    value of unseen categories with ``handleUnseen='keep'``) is the Param ``prior``.
    """

    DATA_SCHEMA = "column STRING, fold BIGINT, categories ARRAY<STRING>, encodings ARRAY<DOUBLE>"
    VALUE_FIELD = "encodings"

    prior = Param(Params._dummy(), "prior", "fitted mean of the label over all fit rows",
                  typeConverter=TypeConverters.toFloat)

    def __init__(self) -> None:
        super().__init__()
        self._setDefault(prior=0.0)

    @property
    def prior_(self) -> float:
        """Mean of the label over all fit rows."""
        return float(self.getOrDefault(self.prior))

    def rows_by_column(self) -> dict[str, DataRow]:
        """The all-rows encodings (fold null) of each column."""
        return {r["column"]: r for r in self._rows if r["fold"] is None}

    def fold_mapping(self, column: str) -> dict[str, float]:
        """The out-of-fold encodings of ``column``, keyed ``fold|category``."""
        return {f"{r['fold']}|{v}": e for r in self._rows
                if r["column"] == column and r["fold"] is not None
                for v, e in zip(r["categories"], r["encodings"], strict=True)}

    @classmethod
    def rows_from_params(cls, params: Mapping[str, Any]) -> list[DataRow]:
        rows = [{**r, "fold": None} for r in cls.rows_from_pairs(params["encodings"])]
        for c, pairs in params.get("foldEncodings", {}).items():
            by_fold: dict[int, list[list[Any]]] = {}
            for key, value in pairs:
                fold, _, category = key.partition("|")
                by_fold.setdefault(int(fold), []).append([category, value])
            rows += [{"column": c, "fold": f, "categories": [p[0] for p in ps],
                      "encodings": [p[1] for p in ps]} for f, ps in by_fold.items()]
        return rows

    def setOutOfFold(self, value: bool) -> TargetEncoderModel:
        """Turn out-of-fold encoding of keyed rows on (training) or off (scoring new data)."""
        return self._set(outOfFold=value)

    def _transform(self, dataset: DataFrame) -> DataFrame:
        self.validate_encoder(dataset)
        policy, stage = self.getOrDefault(self.handleUnseen), type(self).__name__
        keep = F.lit(self.prior_)
        source, fold = self.fold_source(), self.fold_id()
        use_oof = (self.getOrDefault(self.outOfFold) and fold is not None
                   and any(r["fold"] is not None for r in self._rows)
                   and source in dataset.columns)
        exprs = {}
        for c, o in zip(self.getInputCols(), self.resolved_output_cols(), strict=True):
            full = map_categories(c, self.mapping(c), policy, stage, keep)
            if use_oof:
                oof = literal_map(self.fold_mapping(c))
                if oof is not None:
                    assert fold is not None  # out-of-fold encodings exist only with folds
                    key = F.concat(fold.cast("string"), F.lit("|"), as_category(c))
                    # A fold with no fit rows has the whole fit set out of fold: all-rows value.
                    known = F.array_contains(F.map_keys(oof), key)
                    full = F.when(known, oof[key]).otherwise(full)
            exprs[o] = full.cast("double")
        return dataset.withColumns(exprs)
