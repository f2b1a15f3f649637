"""Tokenizers with MLlib's Params and results, in Spark SQL, with null text giving null tokens.

MLlib's ``RegexTokenizer`` and ``Tokenizer`` crash the job with a NullPointerException on a null
text. These stages keep their Params and defaults and produce the same tokens (Java regular
expressions, trailing empty tokens dropped as Java's ``String.split`` does), written as SQL
expressions (no Python UDF); a null text gives a null token array.

>>> RegexTokenizer(inputCol="text", outputCol="words", pattern="\\\\W+").getPattern()
'\\\\W+'
"""

from __future__ import annotations

from typing import Any

from pyspark import keyword_only
from pyspark.ml import Transformer
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasInputCol, HasOutputCol
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from features.base import InRange, Rule, check_params
from features.checks import require_new_columns, require_types
from features.persistence import StageReadable, StageWritable
from features.registry import register


def tokens(text: Column, pattern: str, gaps: bool, lowercase: bool, min_length: int) -> Column:
    """The token array of ``text`` as MLlib computes it; null stays null."""
    if lowercase:
        text = F.lower(text)
    if gaps:
        # Java's split drops trailing empty strings; Spark's keeps them: strip trailing gaps
        trimmed = F.regexp_replace(text, f"(?:{pattern})+$", "")
        found = F.split(trimmed, pattern, -1)
    else:
        found = F.regexp_extract_all(text, F.lit(pattern), F.lit(0))
    if min_length > 0:
        found = F.filter(found, lambda t: F.length(t) >= F.lit(min_length))
    return F.when(text.isNotNull(), found)


@register("regex_tokenizer")
class RegexTokenizer(Transformer, HasInputCol, HasOutputCol, StageReadable,
                     StageWritable):
    """Splits text by a regex (``gaps``) or extracts its matches: MLlib's RegexTokenizer.

    Same Params and defaults as MLlib (pattern ``\\s+``, gaps, toLowercase, minTokenLength 1).
    Null text gives a null array (MLlib fails the job with a NullPointerException). No
    scikit-learn counterpart runs on a column: ``CountVectorizer(token_pattern=...)``'s
    tokenizer is the nearest (it extracts matches, as ``gaps=False``).

    >>> RegexTokenizer(inputCol="t", outputCol="w").getMinTokenLength()
    1
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    PARAM_RULES: dict[str, Rule] = {"minTokenLength": InRange(0)}

    minTokenLength = Param(Params._dummy(), "minTokenLength", "minimum token length (>= 0)",
                           typeConverter=TypeConverters.toInt)
    gaps = Param(Params._dummy(), "gaps", "whether regex splits on gaps (True) or matches "
                 "tokens (False)", typeConverter=TypeConverters.toBoolean)
    pattern = Param(Params._dummy(), "pattern", "regex pattern (Java dialect) used for "
                    "tokenizing", typeConverter=TypeConverters.toString)
    toLowercase = Param(Params._dummy(), "toLowercase", "whether to convert all characters to "
                        "lowercase before tokenizing", typeConverter=TypeConverters.toBoolean)

    @keyword_only
    def __init__(self, *, minTokenLength: int = 1, gaps: bool = True, pattern: str = "\\s+",
                 inputCol: str | None = None, outputCol: str | None = None,
                 toLowercase: bool = True) -> None:
        super().__init__()
        self._setDefault(minTokenLength=1, gaps=True, pattern="\\s+", toLowercase=True)
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, minTokenLength: int = 1, gaps: bool = True, pattern: str = "\\s+",
                  inputCol: str | None = None, outputCol: str | None = None,
                  toLowercase: bool = True) -> RegexTokenizer:
        """Set the params given by keyword."""
        return self._set(**self._input_kwargs)

    def _transform(self, dataset: DataFrame) -> DataFrame:
        check_params(self)
        stage, column, out = type(self).__name__, self.getInputCol(), self.getOutputCol()
        require_types(dataset, [column], (T.StringType,), stage, "string")
        require_new_columns(dataset, [out], stage)
        expr = tokens(F.col(column), self.getOrDefault(self.pattern),
                      self.getOrDefault(self.gaps), self.getOrDefault(self.toLowercase),
                      self.getOrDefault(self.minTokenLength))
        return dataset.withColumn(out, expr)


@register("tokenizer")
class Tokenizer(RegexTokenizer):
    """Lower-cases text and splits it on single whitespace characters: MLlib's Tokenizer.

    As MLlib, consecutive spaces give empty tokens (use ``regex_tokenizer`` to avoid them); null
    text gives a null array instead of MLlib's NullPointerException.

    >>> Tokenizer(inputCol="t", outputCol="w").getPattern()
    '\\\\s'
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    @keyword_only
    def __init__(self, *, inputCol: str | None = None, outputCol: str | None = None) -> None:
        super(RegexTokenizer, self).__init__()
        self._setDefault(minTokenLength=0, gaps=True, pattern="\\s", toLowercase=True)
        self._set(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCol: str | None = None,  # type: ignore[override]
                  outputCol: str | None = None) -> Tokenizer:
        """Set the params given by keyword."""
        return self._set(**self._input_kwargs)
