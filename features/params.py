"""The Params that several lakeprep stages share, each declared once (pyspark's ``Has*`` style).

A stage takes pyspark's own mixin where one exists (``pyspark.ml.param.shared``: ``HasInputCols``,
``HasLabelCol``, ``HasRelativeError``, ``HasSeed``, ``HasHandleInvalid``...) and one of these
for the rest. A mixin holds the Param, its validation rule (``PARAM_RULES``, checked by
:func:`features.base.check_params`) and, where every stage agrees on it, its default; the
stage's docstring says what the value means for it.

>>> from features.transformation import LogTransformer
>>> LogTransformer(inputCols=["x"]).getOrDefault("handleOutOfDomain")
'error'
"""

from __future__ import annotations

from pyspark.ml.param import Param, Params, TypeConverters

from features.base import OneOf, Rule

OUT_OF_DOMAIN_POLICIES = ("error", "null")


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
