"""The Params that several lakeprep stages share, each declared once (pyspark's ``Has*`` style).

A stage takes pyspark's own mixin where one exists (``pyspark.ml.param.shared``: ``HasInputCols``,
``HasLabelCol``, ``HasSeed``, ``HasHandleInvalid``, ``HasRelativeError``...) and one of these for
the rest. A mixin holds the Param, its validation rule (``PARAM_RULES``, checked by
:func:`features.base.check_params`) and its default where every stage agrees on one; a stage
says what the value means for it in its docstring and, for the op reference, ``PARAM_NOTES``.
Params that share a name but not a meaning stay with their stage, as MLlib keeps PCA's ``k``
apart from KMeans' (``k`` of ``column_pca``, ``tol``, ``smoothing``, ``encodingMethod``,
``funcs``).

>>> from features.transformation import LogTransformer
>>> LogTransformer(inputCols=["x"]).getOrDefault("handleOutOfDomain")
'error'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasInputCols, HasOutputCols, HasRelativeError
from pyspark.sql import DataFrame

from features.base import InRange, OneOf, Rule, check_range
from features.errors import FeatureInputError, FeatureSpecError
from features.registry import as_list

UNSEEN_POLICIES = ("error", "keep", "null")
OUT_OF_DOMAIN_POLICIES = ("error", "null")


class HasInOutCols(HasInputCols, HasOutputCols):
    """inputCols plus optional outputCols; without outputCols a stage replaces its inputs in place.

    >>> from features.outliers import Winsorizer
    >>> Winsorizer(inputCols=["amount"]).resolved_output_cols()
    ['amount']
    """

    @classmethod
    def output_columns(cls, params: Mapping[str, Any]) -> list[str]:
        """``outputCols`` when given, else the ``inputCols`` themselves (replaced in place)."""
        return as_list(params.get("outputCols") or params.get("inputCols"))

    def resolved_output_cols(self) -> list[str]:
        """outputCols when set (same length as inputCols), else the inputCols themselves."""
        stage = type(self).__name__
        if not self.isDefined(self.inputCols):
            raise FeatureSpecError(f"{stage}: inputCols is required")
        inputs = self.getInputCols()
        outputs = self.getOutputCols() if self.isDefined(self.outputCols) else list(inputs)
        if len(outputs) != len(inputs):
            raise FeatureSpecError(
                f"{stage}: outputCols has {len(outputs)} names for {len(inputs)} inputCols; "
                "give one output per input or leave outputCols unset to replace the inputs"
            )
        return list(outputs)

    def check_outputs(self, df: DataFrame) -> None:
        """Raise if an output column would overwrite a column other than its own input."""
        stage = type(self).__name__
        clash = [o for i, o in zip(self.getInputCols(), self.resolved_output_cols(), strict=True)
                 if o != i and o in df.columns]
        if clash:
            raise FeatureInputError(
                f"{stage}: output column(s) {clash} already exist; choose other outputCols"
            )


class HasHandleUnseen(Params):
    """``handleUnseen``: what an encoder does with a category it did not see at fit time.

    ``error`` (default, as MLlib's handleInvalid) fails the job naming the stage, column and
    value; ``keep`` gives the value each encoder documents; ``null`` gives null.
    """

    PARAM_RULES: dict[str, Rule] = {"handleUnseen": OneOf(UNSEEN_POLICIES)}

    handleUnseen: Param[str] = Param(
        Params._dummy(), "handleUnseen",
        f"what to do with categories unseen at fit time: {UNSEEN_POLICIES}",
        typeConverter=TypeConverters.toString)

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(handleUnseen="error")


class HasHandleOutOfDomain(Params):
    """``handleOutOfDomain``: what a transform does with a value outside its domain.

    Not pyspark's ``handleInvalid`` (error/skip/keep for null, NaN or unseen values): null and
    NaN pass through these transforms; this policy is for values the math is not defined on
    (x + offset <= 0 for the log, x <= 0 for Box-Cox).
    """

    PARAM_RULES: dict[str, Rule] = {"handleOutOfDomain": OneOf(OUT_OF_DOMAIN_POLICIES)}
    # saved stages of the former version called it handleInvalid
    RENAMED_PARAMS = {"handleInvalid": "handleOutOfDomain"}

    handleOutOfDomain: Param[str] = Param(
        Params._dummy(), "handleOutOfDomain",
        "a value outside the transform's domain: 'error' fails the job naming the column and "
        "the value, 'null' gives null (null and NaN inputs pass through; pyspark's "
        f"handleInvalid is another policy): one of {OUT_OF_DOMAIN_POLICIES}",
        typeConverter=TypeConverters.toString)

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(handleOutOfDomain="error")

    def getHandleOutOfDomain(self) -> str:
        """The out-of-domain policy: 'error' or 'null'."""
        return self.getOrDefault(self.handleOutOfDomain)


class HasTail(Params):
    """``tail``: which end of a column's distribution a tail stage works on (default right)."""

    tail: Param[str] = Param(Params._dummy(), "tail",
                             "which tail: right, left (or both, where the stage allows it)",
                             typeConverter=TypeConverters.toString)

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(tail="right")


class HasFold(Params):
    """``fold``: how far from the centre a tail bound lies (default 3)."""

    PARAM_RULES: dict[str, Rule] = {"fold": InRange(0.0, low_open=True)}

    fold: Param[float] = Param(Params._dummy(), "fold",
                               "where the bound lies: a multiplier of the spread (std, IQR, MAD) "
                               "or of the max, or a tail quantile (the stage's method says which)",
                               typeConverter=TypeConverters.toFloat)

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(fold=3.0)


class HasQuantileRelativeError(HasRelativeError):
    """pyspark's ``relativeError`` (default 0.001), checked as lakeprep uses it: in [0, 1), where
    0 computes exact quantiles (Spark ``percentile``) and anything else ``percentile_approx``."""

    PARAM_RULES: dict[str, Rule] = {"relativeError": InRange(0.0, 1.0, high_open=True)}


class HasBins(Params):
    """``bins``: how many bins a column is cut into (default 10, at least 2)."""

    PARAM_RULES: dict[str, Rule] = {"bins": InRange(2)}

    bins: Param[int] = Param(Params._dummy(), "bins",
                             "number of bins per column (the stage says how it places the edges)",
                             typeConverter=TypeConverters.toInt)

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(bins=10)


class HasEntityCol(Params):
    """``entityCol``: the entity key; a stage computes each entity's rows on their own."""

    entityCol: Param[str] = Param(Params._dummy(), "entityCol",
                                  "entity key: one series or group of rows per value",
                                  typeConverter=TypeConverters.toString)


class HasDropThreshold(Params):
    """``threshold``: the cut-off of a selector's measure beyond which a column is dropped.

    The measure and the side are the selector's (its docstring): |r| above it for
    ``drop_correlated``, the population variance at or below it for ``drop_low_variance``,
    the PSI above it for ``drop_unstable``. Defaults and valid ranges are the selector's too.
    """

    threshold: Param[float] = Param(
        Params._dummy(), "threshold",
        "cut-off of the selector's measure: a column beyond it is dropped (the stage says which "
        "measure and which side)", typeConverter=TypeConverters.toFloat)


class HasKeptCount(Params):
    """``k``: how many columns a ranking selector keeps (the best k of its ranking; default 10).

    Given with explicit ``inputCols``, k may not exceed their number (checked with the spec).
    """

    PARAM_RULES: dict[str, Rule] = {"k": InRange(0)}

    k: Param[int] = Param(Params._dummy(), "k", "columns kept: the k best of the ranking",
                          typeConverter=TypeConverters.toInt)

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(k=10)

    def validate_params(self) -> None:
        """Cross-param rule: a k given explicitly cannot exceed the number of inputCols given."""
        if self.isSet("inputCols") and self.isSet(self.k):
            width = len(self.getOrDefault("inputCols"))
            check_range(type(self).__name__, f"k (at most the {width} inputCols)",
                        self.getOrDefault(self.k), 0, width)
