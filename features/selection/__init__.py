"""Feature selection: Estimators whose Models drop columns and report which and why.

>>> from features.selection import DropConstantFeatures
>>> DropConstantFeatures(tol=0.98).getOrDefault("tol")
0.98

Column-oriented selectors work on plain numeric/string columns (feature-engine style); the MLlib
selectors for vector columns are registered too (``variance_threshold_selector``,
``univariate_feature_selector``, ``chi_sq_selector``).
"""

from pyspark.ml.feature import ChiSqSelector, UnivariateFeatureSelector, VarianceThresholdSelector

from features.registry import register_mllib
from features.selection.base import SelectorModel
from features.selection.drop_constant import DropConstantFeatures, DropConstantFeaturesModel
from features.selection.drop_correlated import DropCorrelatedFeatures, DropCorrelatedFeaturesModel
from features.selection.drop_duplicates import DropDuplicateFeatures, DropDuplicateFeaturesModel
from features.selection.importance import SelectByImportance, SelectByImportanceModel
from features.selection.psi import DropUnstableFeatures, DropUnstableFeaturesModel
from features.selection.univariate import UnivariateSelector, UnivariateSelectorModel
from features.selection.variance_threshold import DropLowVariance, DropLowVarianceModel

register_mllib("variance_threshold_selector", VarianceThresholdSelector)
register_mllib("univariate_feature_selector", UnivariateFeatureSelector)
register_mllib("chi_sq_selector", ChiSqSelector)

__all__ = [
    "DropConstantFeatures", "DropConstantFeaturesModel",
    "DropCorrelatedFeatures", "DropCorrelatedFeaturesModel",
    "DropDuplicateFeatures", "DropDuplicateFeaturesModel",
    "DropLowVariance", "DropLowVarianceModel",
    "DropUnstableFeatures", "DropUnstableFeaturesModel",
    "SelectByImportance", "SelectByImportanceModel",
    "SelectorModel",
    "UnivariateSelector", "UnivariateSelectorModel",
]
