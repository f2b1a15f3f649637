"""Feature selection: Estimators whose Models drop columns and report which and why.

>>> from features.selection import DropConstantFeatures
>>> DropConstantFeatures(tol=0.98).getOrDefault("tol")
0.98

Column-oriented selectors work on plain numeric/string columns (feature-engine style); the MLlib
``variance_threshold_selector`` is registered for vector columns, and MLlib's
``univariate_feature_selector`` / ``chi_sq_selector`` Params are kept by lakeprep's own stages
(see ``vector_selectors``), which rank by statistic instead of underflowed p-values.
"""

from pyspark.ml.feature import VarianceThresholdSelector

from features.registry import register_mllib
from features.selection.base import SelectorModel
from features.selection.drop_constant import DropConstantFeatures, DropConstantFeaturesModel
from features.selection.drop_correlated import DropCorrelatedFeatures, DropCorrelatedFeaturesModel
from features.selection.drop_duplicates import DropDuplicateFeatures, DropDuplicateFeaturesModel
from features.selection.importance import SelectByImportance, SelectByImportanceModel
from features.selection.psi import DropUnstableFeatures, DropUnstableFeaturesModel
from features.selection.univariate import UnivariateSelector, UnivariateSelectorModel
from features.selection.variance_threshold import DropLowVariance, DropLowVarianceModel
from features.selection.vector_selectors import ChiSqSelector, UnivariateFeatureSelector

register_mllib("variance_threshold_selector", VarianceThresholdSelector)

__all__ = [
    "ChiSqSelector", "DropConstantFeatures", "DropConstantFeaturesModel",
    "DropCorrelatedFeatures", "DropCorrelatedFeaturesModel",
    "DropDuplicateFeatures", "DropDuplicateFeaturesModel",
    "DropLowVariance", "DropLowVarianceModel",
    "DropUnstableFeatures", "DropUnstableFeaturesModel",
    "SelectByImportance", "SelectByImportanceModel",
    "SelectorModel",
    "UnivariateFeatureSelector", "UnivariateSelector", "UnivariateSelectorModel",
]
