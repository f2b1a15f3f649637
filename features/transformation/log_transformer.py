"""LogTransformer and Log1pTransformer: logarithm of numeric columns."""

from __future__ import annotations

import math
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Transformer
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.base import (
    OneOf,
    Rule,
    check_choice,
    check_params,
    out_of_domain_value,
)
from features.checks import require_numeric
from features.params import HasHandleOutOfDomain, HasInOutCols
from features.persistence import StageReadable, StageWritable
from features.registry import register

BASES = ("e", "2", "10")


@register("log")
class LogTransformer(Transformer, HasInOutCols, HasHandleOutOfDomain, StageReadable,
                     StageWritable):
    """Applies log_base(x + offset) to numeric columns (doubles out).

    ``offset=1`` with base e is log1p, computed with Spark's ``log1p`` for precision near 0.
    x + offset <= 0 (and -inf) is out of the log's domain: ``handleOutOfDomain='error'``
    (default) fails the job naming the column and value, ``'null'`` gives null. Null stays
    null, NaN stays NaN, +inf stays +inf.

    >>> df = spark.createDataFrame([(0.0,), (None,)], "amount double")
    >>> LogTransformer(inputCols=["amount"], offset=1.0).transform(df).collect()
    [Row(amount=0.0), Row(amount=None)]
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    PARAM_RULES: dict[str, Rule] = {"base": OneOf(BASES)}

    base = Param(Params._dummy(), "base", f"logarithm base: one of {BASES}",
                 typeConverter=TypeConverters.toString)
    offset = Param(Params._dummy(), "offset", "added to x before the log",
                   typeConverter=TypeConverters.toFloat)

    @keyword_only
    def __init__(self, *, inputCols: list[str] | None = None, outputCols: list[str] | None = None,
                 base: str = "e", offset: float = 0.0, handleOutOfDomain: str = "error") -> None:
        super().__init__()
        self._setDefault(base="e", offset=0.0)
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols: list[str] | None = None, outputCols: list[str] | None = None,
                  base: str = "e", offset: float = 0.0, handleOutOfDomain: str = "error",
        ) -> LogTransformer:
        """Set the params given by keyword."""
        return self._set(**self._input_kwargs)

    def _transform(self, dataset: DataFrame) -> DataFrame:
        check_params(self)
        stage, cols = type(self).__name__, self.getInputCols()
        base, offset = self.getOrDefault(self.base), self.getOrDefault(self.offset)
        policy = self.getHandleOutOfDomain()
        check_choice(stage, "base", base, BASES)
        require_numeric(dataset, cols, stage)
        self.check_outputs(dataset)
        exprs = {}
        for c, o in zip(cols, self.resolved_output_cols(), strict=True):
            x = F.col(c).cast("double")
            if base == "e" and offset == 1.0:
                log = F.log1p(x)
            else:
                log = F.ln(x + F.lit(offset)) / F.lit(math.log(float(base) if base != "e"
                                                                else math.e))
            bad = x + F.lit(offset) <= 0
            exprs[o] = (F.when(x.isNull() | F.isnan(x), x)
                        .when(bad, out_of_domain_value(policy, stage, c, f"x + {offset} <= 0", x))
                        .otherwise(log)).cast("double")
        return dataset.withColumns(exprs)


@register("log1p")
class Log1pTransformer(LogTransformer):
    """Applies log(1 + x): a :class:`LogTransformer` with base e and offset 1.

    >>> df = spark.createDataFrame([(0.0,)], "amount_sum_90d double")
    >>> Log1pTransformer(inputCols=["amount_sum_90d"]).transform(df).collect()
    [Row(amount_sum_90d=0.0)]
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    @keyword_only
    def __init__(self, *, inputCols: list[str] | None = None, outputCols: list[str] | None = None,
                 handleOutOfDomain: str = "error") -> None:
        kwargs = self._input_kwargs  # the parent's keyword_only __init__ overwrites it
        super().__init__()
        self._set(base="e", offset=1.0, **kwargs)

    @keyword_only
    def setParams(  # type: ignore[override]  # base and offset are fixed for log1p
            self, *, inputCols: list[str] | None = None, outputCols: list[str] | None = None,
            handleOutOfDomain: str = "error") -> Log1pTransformer:
        """Set the params given by keyword."""
        return self._set(**self._input_kwargs)
