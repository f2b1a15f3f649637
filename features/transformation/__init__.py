"""Transformation family: imputation, outliers, log/power transforms, scaling, discretisation,
encoding. Importing it registers every stage with the spec (MLlib stages under their own ops).

>>> from features.transformation import Winsorizer, TargetEncoder  # doctest: +SKIP
"""

from pyspark.ml import feature as mllib

from features.registry import register_mllib
from features.transformation.arbitrary_number_imputer import ArbitraryNumberImputer
from features.transformation.categorical_imputer import (
    CategoricalImputer,
    CategoricalImputerModel,
)
from features.transformation.count_frequency_encoder import (
    CountFrequencyEncoder,
    CountFrequencyEncoderModel,
)
from features.transformation.end_tail_imputer import EndTailImputer, EndTailImputerModel
from features.transformation.equal_width_discretiser import EqualWidthDiscretiser
from features.transformation.log_transformer import Log1pTransformer, LogTransformer
from features.transformation.missing_indicator import MissingIndicator
from features.transformation.one_hot_encoder import OneHotEncoder, OneHotEncoderModel
from features.transformation.ordinal_encoder import OrdinalEncoder, OrdinalEncoderModel
from features.transformation.outlier_trimmer import OutlierTrimmer, OutlierTrimmerModel
from features.transformation.power_transformer import PowerTransformer, PowerTransformerModel
from features.transformation.rare_label_encoder import RareLabelEncoder, RareLabelEncoderModel
from features.transformation.target_encoder import TargetEncoder, TargetEncoderModel
from features.transformation.winsorizer import Winsorizer, WinsorizerModel
from features.transformation.woe_encoder import WoEEncoder, WoEEncoderModel

# MLlib already has these: mean/median/mode imputation, scalers (on vectors), equal-frequency
# and given-edge bins, frequency-ordered string indexing and vector one-hot.
MLLIB_STAGES = {
    "impute": mllib.Imputer,
    "standard_scale": mllib.StandardScaler,
    "min_max_scale": mllib.MinMaxScaler,
    "max_abs_scale": mllib.MaxAbsScaler,
    "robust_scale": mllib.RobustScaler,
    "bucketize": mllib.Bucketizer,
    "equal_frequency_discretise": mllib.QuantileDiscretizer,
    "string_index": mllib.StringIndexer,
    "one_hot_vector_encode": mllib.OneHotEncoder,
}
for _op, _cls in MLLIB_STAGES.items():
    register_mllib(_op, _cls)

__all__ = [
    "ArbitraryNumberImputer", "CategoricalImputer", "CategoricalImputerModel",
    "CountFrequencyEncoder", "CountFrequencyEncoderModel", "EndTailImputer",
    "EndTailImputerModel", "EqualWidthDiscretiser", "Log1pTransformer", "LogTransformer",
    "MissingIndicator", "OneHotEncoder", "OneHotEncoderModel", "OrdinalEncoder",
    "OrdinalEncoderModel", "OutlierTrimmer", "OutlierTrimmerModel", "PowerTransformer",
    "PowerTransformerModel", "RareLabelEncoder", "RareLabelEncoderModel", "TargetEncoder",
    "TargetEncoderModel", "Winsorizer", "WinsorizerModel", "WoEEncoder", "WoEEncoderModel",
    "MLLIB_STAGES",
]
