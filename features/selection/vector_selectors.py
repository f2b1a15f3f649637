"""MLlib's vector selectors, ranked by the test statistic instead of underflowed p-values.

MLlib's ``ChiSqSelector`` and ``UnivariateFeatureSelector`` rank features by p-values computed as
``1 - CDF``: every strong feature gets p = 0.0 and ties fall to column order, so top-k keeps the
first k columns rather than the k strongest. These stages keep MLlib's Params (same names,
defaults, getters) and compute the statistics in Spark (one aggregation per test), then:

- ``numTopFeatures`` / ``percentile`` keep the largest statistics, as scikit-learn's
  ``SelectKBest`` / ``SelectPercentile`` (percentile keeps ``int(width * percentile)`` slots, as
  MLlib); ties by slot order;
- ``fpr`` / ``fdr`` (Benjamini-Hochberg) / ``fwe`` (Bonferroni) compare p-values to the
  threshold, as scikit-learn's ``SelectFpr`` / ``SelectFdr`` / ``SelectFwe``; p-values are
  upper tails from commons-math (no ``1 - cdf`` cancellation).

The fitted model is the one MLlib's fit returns, ``ChiSqSelectorModel`` /
``UnivariateFeatureSelectorModel``, built with the selected slot indices (ascending, as MLlib):
it answers ``selectedFeatures``, its output vector keeps the ML attributes (feature names) of the
kept slots, and it persists (``data/``: MLlib's ``selectedFeatures ARRAY<INT>``) and loads as
plain MLlib. Rows with a null label or a null vector are left out of the fit; NaN in a slot
counts as missing for that slot only. A slot with no spread (constant) has no statistic and
ranks last; it is never selected by p-value. (Pipelines saved before this release hold a
``VectorSlicer`` at the selector's place: they load as they were, with ``getIndices()``.)

>>> from pyspark.ml.linalg import Vectors
>>> df = spark.createDataFrame([(Vectors.dense([0.0, y, 1.0 - y]), y)
...                             for y in (0.0, 1.0) * 20], ["features", "label"])
>>> model = ChiSqSelector(numTopFeatures=1, outputCol="kept").fit(df)
>>> type(model).__name__, model.selectedFeatures
('ChiSqSelectorModel', [1])
>>> model.transform(df).first().kept
DenseVector([0.0])
"""

from __future__ import annotations

import logging
import math
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.feature import _SelectorParams as _MLlibSelectorParams
from pyspark.ml.feature import _UnivariateFeatureSelectorParams
from pyspark.ml.functions import vector_to_array
from pyspark.ml.linalg import VectorUDT
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.base import InRange, OneOf, Rule, check_params
from features.checks import require_columns, require_types
from features.errors import FeatureInputError, FeatureSpecError
from features.jvm import int_array, mllib_model
from features.persistence import StageReadable, StageWritable
from features.registry import register
from features.selection.association import anova_f, chi_square, f_regression

log = logging.getLogger(f"lakeprep.{__name__}")

MODES = ("numTopFeatures", "percentile", "fpr", "fdr", "fwe")
TYPES = ("categorical", "continuous")
DEFAULT_THRESHOLD = {"numTopFeatures": 50, "percentile": 0.1, "fpr": 0.05, "fdr": 0.05,
                     "fwe": 0.05}


def vector_width(df: DataFrame, column: str) -> int:
    """Slots of a vector column: from its ML attributes, else from the first row (one job)."""
    attrs = df.schema[column].metadata.get("ml_attr", {})
    if "num_attrs" in attrs:
        return int(attrs["num_attrs"])
    row = df.where(F.col(column).isNotNull()).select(F.size(vector_to_array(F.col(column)))).first()
    return int(row[0]) if row else 0


def slot_scores(df: DataFrame, features: str, label: str, feature_type: str, label_type: str,
                stage: str) -> list[dict[str, Any]]:
    """The test of every slot of the ``features`` vector against ``label`` (one aggregation)."""
    require_columns(df, [features, label], stage)
    require_types(df, [features], (VectorUDT,), stage, "vector")
    if (feature_type, label_type) == ("categorical", "continuous"):
        raise FeatureSpecError(f"{stage}: featureType 'categorical' with labelType 'continuous' "
                               "has no test (MLlib has none either); use continuous features")
    width = vector_width(df, features)
    if width == 0:
        raise FeatureInputError(f"{stage}: column {features!r} has no non-null vector to select "
                                "from (empty input or all null)")
    names = [f"_s{i}" for i in range(width)]
    array = vector_to_array(F.col(features))  # fails on a null vector: those rows are left out
    slots = df.where(F.col(features).isNotNull()).select(
        *[array[i].alias(n) for i, n in enumerate(names)], F.col(label).alias("_label"))
    test = (chi_square if feature_type == "categorical" else
            anova_f if label_type == "categorical" else f_regression)
    result = test(slots, names, "_label")
    scores = [result[n] for n in names]
    if not any(s["n"] for s in scores):
        raise FeatureInputError(f"{stage}: no row with both a vector in {features!r} and a "
                                f"label in {label!r} to fit on")
    return scores


def select_slots(scores: list[dict[str, Any]], mode: str, threshold: float) -> list[int]:
    """Indices kept under ``mode``: top statistics (ties by index) or p-values below a bound.

    >>> s = [{"statistic": 3.0, "p_value": 0.0}, {"statistic": 9.0, "p_value": 0.0},
    ...      {"statistic": 1.0, "p_value": 0.2}]
    >>> select_slots(s, "numTopFeatures", 1), select_slots(s, "fpr", 0.05)
    ([1], [0, 1])
    """
    n = len(scores)
    stat = [s["statistic"] if not math.isnan(s["statistic"]) else -math.inf for s in scores]
    pval = [s["p_value"] if not math.isnan(s["p_value"]) else math.inf for s in scores]
    by_stat = sorted(range(n), key=lambda i: (-stat[i], i))
    if mode == "numTopFeatures":
        keep = by_stat[:int(threshold)]
    elif mode == "percentile":
        keep = by_stat[:int(n * threshold)]
    elif mode == "fpr":
        keep = [i for i in range(n) if pval[i] < threshold]
    elif mode == "fwe":
        keep = [i for i in range(n) if pval[i] < threshold / n]
    else:  # fdr: Benjamini-Hochberg, the largest rank whose p-value is under its line
        by_p = sorted(range(n), key=lambda i: (pval[i], i))
        cut = max((r for r, i in enumerate(by_p, start=1) if pval[i] <= threshold * r / n),
                  default=0)
        keep = by_p[:cut]
    return sorted(i for i in keep if stat[i] > -math.inf)


class _SelectorBase(Estimator, StageReadable, StageWritable):
    """Fit: score every slot, pick the indices, return MLlib's own Model over them."""

    MLLIB_MODEL: str  # the MLlib Model class the fit returns (org.apache.spark.ml.feature)

    def _mode_and_threshold(self) -> tuple[str, float]:
        raise NotImplementedError

    def _types(self) -> tuple[str, str]:
        raise NotImplementedError

    def _fit(self, dataset: DataFrame) -> Any:
        check_params(self)
        stage = type(self).__name__
        mode, threshold = self._mode_and_threshold()
        features, label = self.getOrDefault("featuresCol"), self.getOrDefault("labelCol")
        scores = slot_scores(dataset, features, label, *self._types(), stage)
        keep = select_slots(scores, mode, threshold)
        log.info("%s: %s=%s keeps slots %s of %d", stage, mode, threshold, keep, len(scores))
        sc = dataset.sparkSession.sparkContext
        return mllib_model(sc, self.MLLIB_MODEL, self, int_array(sc, keep))


@register("univariate_feature_selector")
class UnivariateFeatureSelector(_SelectorBase, _UnivariateFeatureSelectorParams):
    """Keeps the vector slots most associated with the label: MLlib's Params, sklearn's choice.

    Tests by ``featureType``/``labelType``: categorical/categorical chi-square of independence
    (scipy ``chi2_contingency`` per slot; sklearn's ``chi2`` differs: it treats values as
    counts), continuous/categorical ANOVA F (sklearn ``f_classif``), continuous/continuous
    F-regression (sklearn ``f_regression``). ``selectionThreshold`` defaults as MLlib's: 50 for
    numTopFeatures, 0.1 for percentile, 0.05 otherwise.

    >>> UnivariateFeatureSelector(featureType="continuous", labelType="categorical",
    ...                           selectionThreshold=5).getSelectionMode()
    'numTopFeatures'
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    MLLIB_MODEL = "UnivariateFeatureSelectorModel"
    PARAM_RULES: dict[str, Rule] = {"featureType": OneOf(TYPES), "labelType": OneOf(TYPES),
                   "selectionMode": OneOf(MODES), "selectionThreshold": InRange(0.0)}

    @keyword_only
    def __init__(self, *, featuresCol: str = "features", outputCol: str | None = None,
                 labelCol: str = "label", selectionMode: str = "numTopFeatures",
                 featureType: str | None = None, labelType: str | None = None,
                 selectionThreshold: float | None = None) -> None:
        super().__init__()
        self._setDefault(selectionMode="numTopFeatures")
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, featuresCol: str = "features", outputCol: str | None = None,
                  labelCol: str = "label", selectionMode: str = "numTopFeatures",
                  featureType: str | None = None, labelType: str | None = None,
                  selectionThreshold: float | None = None) -> UnivariateFeatureSelector:
        """Set the params given by keyword."""
        return self._set(**{k: v for k, v in self._input_kwargs.items() if v is not None})

    def validate_params(self) -> None:
        """featureType and labelType are required; fractions of slots are in [0, 1]."""
        stage = type(self).__name__
        for name in ("featureType", "labelType"):
            if not self.isDefined(name):
                raise FeatureSpecError(f"{stage}: {name} is required: one of {list(TYPES)}")
        mode, threshold = self._mode_and_threshold()
        if mode != "numTopFeatures" and not 0.0 <= threshold <= 1.0:
            raise FeatureSpecError(f"{stage}: selectionThreshold must be in [0, 1] with "
                                   f"selectionMode {mode!r}, got {threshold}")

    def _mode_and_threshold(self) -> tuple[str, float]:
        mode = self.getOrDefault(self.selectionMode)
        if self.isDefined(self.selectionThreshold):
            return mode, float(self.getOrDefault(self.selectionThreshold))
        return mode, float(DEFAULT_THRESHOLD.get(mode, 0.05))

    def _types(self) -> tuple[str, str]:
        return self.getOrDefault(self.featureType), self.getOrDefault(self.labelType)


@register("chi_sq_selector")
class ChiSqSelector(_SelectorBase, _MLlibSelectorParams):
    """Keeps the categorical vector slots most dependent on a categorical label (chi-square).

    MLlib's ``ChiSqSelector`` Params; the test per slot is Pearson's chi-square of independence
    (scipy ``chi2_contingency(correction=False)``), ranked by statistic for numTopFeatures and
    percentile. Slot values are categories (compared as numbers).

    >>> ChiSqSelector(numTopFeatures=2).getNumTopFeatures()
    2
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    MLLIB_MODEL = "ChiSqSelectorModel"
    PARAM_RULES: dict[str, Rule] = {"selectorType": OneOf(MODES), "numTopFeatures": InRange(0),
                   "percentile": InRange(0.0, 1.0), "fpr": InRange(0.0, 1.0),
                   "fdr": InRange(0.0, 1.0), "fwe": InRange(0.0, 1.0)}

    @keyword_only
    def __init__(self, *, numTopFeatures: int = 50, featuresCol: str = "features",
                 outputCol: str | None = None, labelCol: str = "label",
                 selectorType: str = "numTopFeatures", percentile: float = 0.1,
                 fpr: float = 0.05, fdr: float = 0.05, fwe: float = 0.05) -> None:
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, numTopFeatures: int = 50, featuresCol: str = "features",
                  outputCol: str | None = None, labelCol: str = "label",
                  selectorType: str = "numTopFeatures", percentile: float = 0.1,
                  fpr: float = 0.05, fdr: float = 0.05, fwe: float = 0.05) -> ChiSqSelector:
        """Set the params given by keyword."""
        return self._set(**{k: v for k, v in self._input_kwargs.items() if v is not None})

    def _mode_and_threshold(self) -> tuple[str, float]:
        mode = self.getOrDefault(self.selectorType)
        return mode, float(self.getOrDefault(mode))

    def _types(self) -> tuple[str, str]:
        return "categorical", "categorical"
