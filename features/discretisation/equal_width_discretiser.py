"""EqualWidthDiscretiser: sorts values into bins of equal width learnt from min and max."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.param.shared import HasHandleInvalid, HasInputCols, HasOutputCols
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.base import (
    OneOf,
    Rule,
    aggregate,
    check_params,
    finite_value,
)
from features.checks import require_new_columns, require_numeric
from features.errors import FeatureInputError, FeatureSpecError
from features.params import HasBins
from features.persistence import DataRow, FittedModel, StageReadable, StageWritable
from features.registry import register

HANDLE_INVALID = ("error", "skip", "keep")


class _EqualWidthParams(HasInputCols, HasOutputCols, HasBins, HasHandleInvalid):
    # handleInvalid has MLlib's meaning here (as Bucketizer's): what null and NaN become
    PARAM_RULES: dict[str, Rule] = {"handleInvalid": OneOf(HANDLE_INVALID)}
    FORMER_PARAMS = {"splitsArray": "fitted: the edges of each column, -inf to +inf"}
    PARAM_NOTES = {"bins": "number of intervals",
                   "handleInvalid": f"null and NaN: one of {HANDLE_INVALID} (keep: extra bucket "
                                    "`bins`)"}

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(handleInvalid="keep")


@register("equal_width_discretise")
class EqualWidthDiscretiser(Estimator, _EqualWidthParams, StageReadable, StageWritable):
    """Learns ``bins`` equal-width intervals between each column's min and max.

    Interior edges are ``linspace(min, max, bins + 1)[1:-1]`` and the outer edges are -inf/+inf,
    so values beyond the fit range fall in the first or last bin (as feature-engine). Intervals
    are [a, b) (MLlib Bucketizer's closure), where feature-engine's are (a, b]: only values
    exactly on an interior edge differ. Min and max of all columns come from one aggregation over
    finite values; a column with no finite value raises at fit. A constant column gets one edge
    (bins 0 and 1). Missing values (null and NaN alike) follow ``handleInvalid``: ``keep`` puts
    them in the extra bucket ``bins`` (the number of fitted intervals), ``skip`` drops the row,
    ``error`` fails the job naming the column. +-inf fall in the first/last bin. Output columns
    are doubles, as MLlib's. Equal-frequency bins are MLlib's QuantileDiscretizer (op
    ``equal_frequency_discretise``), given edges its Bucketizer (op ``bucketize``).

    >>> df = spark.createDataFrame([(0.0,), (4.0,), (10.0,)], "amount double")
    >>> EqualWidthDiscretiser(inputCols=["amount"], outputCols=["amount_bin"],
    ...                       bins=5).fit(df).getSplitsArray()
    [[-inf, 2.0, 4.0, 6.0, 8.0, inf]]
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    @keyword_only
    def __init__(self, *, inputCols: list[str] | None = None,
                 outputCols: list[str] | None = None, bins: int = 10,
                 handleInvalid: str = "keep") -> None:
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols: list[str] | None = None,
                  outputCols: list[str] | None = None, bins: int = 10,
                  handleInvalid: str = "keep") -> EqualWidthDiscretiser:
        """Set the params given by keyword."""
        return self._set(**self._input_kwargs)

    def validate_params(self) -> None:
        """outputCols is required, one name per inputCols name."""
        if not self.isDefined(self.inputCols):
            return
        cols = self.getInputCols()
        if not self.isDefined(self.outputCols) or len(self.getOutputCols()) != len(cols):
            raise FeatureSpecError(f"{type(self).__name__}: outputCols must give one name per "
                                   f"inputCols name ({len(cols)})")

    def _fit(self, dataset: DataFrame) -> EqualWidthDiscretiserModel:
        check_params(self)
        stage, cols, bins = type(self).__name__, self.getInputCols(), self.getOrDefault(self.bins)
        require_numeric(dataset, cols, stage)
        require_new_columns(dataset, self.getOutputCols(), stage)
        exprs = {}
        for c in cols:
            exprs[f"{c}/min"], exprs[f"{c}/max"] = F.min(finite_value(c)), F.max(finite_value(c))
        stats = aggregate(dataset, exprs)
        empty = [c for c in cols if stats[f"{c}/min"] is None]
        if empty:
            raise FeatureInputError(f"{stage}: column(s) {empty} have no finite value to learn "
                                    "the bin edges from (all null, NaN or infinite, or no rows)")
        rows = []
        for c in cols:
            lo, hi = stats[f"{c}/min"], stats[f"{c}/max"]
            # halves, then doubled (exact): max - min overflows for values near +-1.8e308
            edges = np.linspace(lo / 2, hi / 2, bins + 1)[1:-1] * 2
            inner = sorted(set(edges.tolist())) if hi > lo else [lo]
            rows.append({"column": c, "splits": [-float("inf"), *inner, float("inf")]})
        return self._copyValues(EqualWidthDiscretiserModel.with_rows(rows))


class EqualWidthDiscretiserModel(FittedModel, _EqualWidthParams):
    """Writes the bin index of each value by the fitted ``getSplitsArray()`` edges.

    Model data (``data/``): one row per input column, ``column STRING, splits ARRAY<DOUBLE>``
    (the edges, -inf first and +inf last, as MLlib's Bucketizer ``splitsArray``).
    """

    DATA_SCHEMA = "column STRING, splits ARRAY<DOUBLE>"

    def getSplitsArray(self) -> list[list[float]]:
        """The fitted edges of each input column (MLlib Bucketizer's name)."""
        rows = self.rows_by_column()
        return [list(rows[c]["splits"]) for c in self.getInputCols()]

    @classmethod
    def rows_from_params(cls, params: Mapping[str, Any]) -> list[DataRow]:
        return [{"column": c, "splits": s}
                for c, s in zip(params["inputCols"], params["splitsArray"], strict=True)]

    def _transform(self, dataset: DataFrame) -> DataFrame:
        stage, cols, outs = type(self).__name__, self.getInputCols(), self.getOutputCols()
        require_numeric(dataset, cols, stage)
        policy = self.getOrDefault(self.handleInvalid)
        exprs, missing_any = {}, F.lit(False)
        for c, o, splits in zip(cols, outs, self.getSplitsArray(), strict=True):
            v = F.col(c).cast("double")
            missing = v.isNull() | F.isnan(v)
            index = sum(((v >= F.lit(e)).cast("double") for e in splits[1:-1]), F.lit(0.0))
            if policy == "keep":
                invalid = F.lit(float(len(splits) - 1))
            elif policy == "error":
                invalid = F.raise_error(F.lit(f"{stage}: column '{c}' has a null or NaN value; "
                                              "impute it first or set handleInvalid to 'keep' "
                                              "or 'skip'")).cast("double")
            else:
                invalid = F.lit(None).cast("double")
            exprs[o] = F.when(missing, invalid).otherwise(index)
            missing_any = missing_any | missing
        if policy == "skip":
            dataset = dataset.where(~missing_any)
        return dataset.withColumns(exprs)
