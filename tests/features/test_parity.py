"""Parity suite: every registered op against its nearest scikit-learn / feature-engine / scipy
counterpart on scikit-learn's bundled datasets (no download), plus the edge cases per family.

``COVERAGE`` names, for every registered op, the test that checks it and its reference (or,
where no library computes the same thing, the property checked instead); a test asserts the
table covers the registry and that every named test exists. Tolerances are stated per check:
1e-9 relative where the math is exact, rank bounds for approximate quantiles.
"""

from __future__ import annotations

import importlib
import math

import numpy as np
import pandas as pd
import pytest
from pyspark.ml.linalg import Vectors, VectorUDT
from pyspark.sql.types import DoubleType, StructField, StructType
from scipy.stats import chi2_contingency
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine
from sklearn.decomposition import PCA as SkPCA
from sklearn.feature_selection import (
    SelectFpr,
    SelectKBest,
    SelectPercentile,
    f_classif,
    f_regression,
)
from sklearn.preprocessing import MaxAbsScaler as SkMaxAbs
from sklearn.preprocessing import MinMaxScaler as SkMinMax
from sklearn.preprocessing import RobustScaler as SkRobust
from sklearn.preprocessing import StandardScaler as SkStandard

from features.discretisation import EqualWidthDiscretiser
from features.encoding import CountFrequencyEncoder, OrdinalEncoder
from features.errors import FeatureInputError
from features.extraction import ColumnPCA, RegexTokenizer, Tokenizer
from features.imputation import EndTailImputer
from features.outliers import OutlierTrimmer, Winsorizer
from features.selection import ChiSqSelector, DropCorrelatedFeatures, UnivariateFeatureSelector
from features.spec import load_operations
from features.transformation import (
    MaxAbsScaler,
    MinMaxScaler,
    PowerTransformer,
    RobustScaler,
    StandardScaler,
)

T = "tests.features"
COVERAGE = {
    # op: (test "module::function", reference or the property checked when there is none)
    "add_missing_indicator": (f"{T}.imputation.test_imputers::"
                              "test_arbitrary_imputer_and_indicator_match_feature_engine",
                              "feature-engine AddMissingIndicator"),
    "bucketize": (f"{T}.test_parity::test_bucketize_matches_numpy_digitize", "numpy.digitize"),
    "categorical_cross": (f"{T}.creation.test_row_features::test_categorical_cross_and_lags",
                          "no reference: property, values joined by the separator"),
    "chi_sq_selector": (f"{T}.test_parity::test_chi_sq_selector_ranks_by_statistic",
                        "scipy chi2_contingency per slot, top-k by statistic"),
    "column_pca": (f"{T}.test_parity::test_column_pca_matches_sklearn_on_iris", "sklearn PCA"),
    "count_frequency_encode": (f"{T}.encoding.test_encoders::"
                               "test_count_ordinal_rare_onehot_woe_match_reference",
                               "feature-engine CountFrequencyEncoder"),
    "count_vectorizer": (f"{T}.extraction.test_mllib_extraction::test_tf_idf_chain_from_spec",
                         "no exact reference (vocabulary ties): property, counts per document"),
    "cyclical_features": (f"{T}.creation.test_row_features::"
                          "test_cyclical_and_math_and_relative_match_feature_engine",
                          "feature-engine CyclicalFeatures"),
    "datetime_features": (f"{T}.creation.test_row_features::"
                          "test_datetime_features_match_feature_engine",
                          "feature-engine DatetimeFeatures"),
    "drop_constant": (f"{T}.selection.test_drop_constant::test_matches_feature_engine",
                      "feature-engine DropConstantFeatures"),
    "drop_correlated": (f"{T}.test_parity::test_drop_correlated_matches_pandas_on_breast_cancer",
                        "pandas corr + feature-engine's walk"),
    "drop_duplicates": (f"{T}.selection.test_drop_duplicates_correlated::"
                        "test_duplicates_match_feature_engine",
                        "feature-engine DropDuplicateFeatures"),
    "drop_low_variance": (f"{T}.selection.test_variance_univariate::test_variance_matches_sklearn",
                          "sklearn VarianceThreshold"),
    "drop_unstable": (f"{T}.selection.test_psi_importance::"
                      "test_psi_decided_at_fit_numeric_categorical_missing_and_unseen",
                      "PSI formula by hand (feature-engine's bins differ: quantile method)"),
    "equal_frequency_discretise": (f"{T}.test_parity::"
                                   "test_equal_frequency_within_rank_bounds_on_diabetes",
                                   "pandas qcut, rank bounds of the approximate quantiles"),
    "equal_width_discretise": (f"{T}.test_parity::test_equal_width_matches_numpy_on_diabetes",
                               "numpy linspace + digitize (feature-engine's edges)"),
    "feature_hasher": (f"{T}.test_parity::test_feature_hasher_property",
                       "no reference with Spark's hash: property, one slot per input"),
    "group_rare_labels": (f"{T}.encoding.test_encoders::"
                          "test_count_ordinal_rare_onehot_woe_match_reference",
                          "feature-engine RareLabelEncoder"),
    "hashing_tf": (f"{T}.extraction.test_mllib_extraction::test_hashing_polynomial_interaction",
                   "no reference with Spark's hash: property, counts sum to the tokens"),
    "idf": (f"{T}.extraction.test_mllib_extraction::test_tf_idf_chain_from_spec",
            "sklearn smooth idf formula"),
    "impute": (f"{T}.imputation.test_imputers::test_mllib_imputer_mean_matches_sklearn",
               "sklearn SimpleImputer"),
    "impute_arbitrary": (f"{T}.imputation.test_imputers::"
                         "test_arbitrary_imputer_and_indicator_match_feature_engine",
                         "feature-engine ArbitraryNumberImputer"),
    "impute_categorical": (f"{T}.imputation.test_imputers::"
                           "test_categorical_imputer_frequent_and_missing",
                           "feature-engine CategoricalImputer"),
    "impute_end_tail": (f"{T}.imputation.test_imputers::"
                        "test_end_tail_imputer_matches_feature_engine",
                        "feature-engine EndTailImputer"),
    "interaction": (f"{T}.extraction.test_mllib_extraction::test_hashing_polynomial_interaction",
                    "numpy products"),
    "lag_features": (f"{T}.creation.test_row_features::test_categorical_cross_and_lags",
                     "pandas groupby shift"),
    "log": (f"{T}.transformation.test_log_power::test_log_and_log1p_match_numpy", "numpy log"),
    "log1p": (f"{T}.transformation.test_log_power::test_log_and_log1p_match_numpy",
              "numpy log1p"),
    "math_features": (f"{T}.creation.test_row_features::"
                      "test_cyclical_and_math_and_relative_match_feature_engine",
                      "feature-engine MathFeatures"),
    "max_abs_scale": (f"{T}.test_parity::test_scalers_match_sklearn_on_wine",
                      "sklearn MaxAbsScaler"),
    "min_max_scale": (f"{T}.test_parity::test_scalers_match_sklearn_on_wine",
                      "sklearn MinMaxScaler"),
    "ngram": (f"{T}.test_parity::test_ngram_and_stop_words_property",
              "no reference: property, adjacent tokens joined by a space"),
    "one_hot_encode": (f"{T}.encoding.test_encoders::"
                       "test_count_ordinal_rare_onehot_woe_match_reference",
                       "feature-engine OneHotEncoder"),
    "one_hot_vector_encode": (f"{T}.test_parity::test_string_index_and_one_hot_vector",
                              "sklearn OneHotEncoder(drop='last')"),
    "ordinal_encode": (f"{T}.encoding.test_encoders::"
                       "test_count_ordinal_rare_onehot_woe_match_reference",
                       "sklearn OrdinalEncoder"),
    "pca": (f"{T}.test_parity::test_column_pca_matches_sklearn_on_iris", "sklearn PCA"),
    "point_in_time_aggregates": (f"{T}.creation.test_point_in_time::"
                                 "test_windowed_values_match_a_pandas_reference",
                                 "pandas window aggregates"),
    "polynomial_expansion": (f"{T}.extraction.test_mllib_extraction::"
                             "test_hashing_polynomial_interaction", "numpy products"),
    "power_transform": (f"{T}.transformation.test_log_power::"
                        "test_power_transformer_matches_sklearn",
                        "sklearn PowerTransformer"),
    "regex_tokenizer": (f"{T}.test_parity::test_tokenizers_match_mllib_and_accept_null",
                        "MLlib RegexTokenizer on non-null text"),
    "relative_features": (f"{T}.creation.test_row_features::"
                          "test_cyclical_and_math_and_relative_match_feature_engine",
                          "feature-engine RelativeFeatures"),
    "robust_scale": (f"{T}.test_parity::test_scalers_match_sklearn_on_wine",
                     "sklearn RobustScaler (zero IQR: scale 1)"),
    "select_by_importance": (f"{T}.selection.test_psi_importance::"
                             "test_importance_keeps_informative_columns",
                             "no exact reference (random forest): property, importances sum "
                             "to 1 and the informative column is kept"),
    "select_univariate": (f"{T}.selection.test_variance_univariate::test_anova_matches_f_classif",
                          "sklearn f_classif / scipy chi2_contingency"),
    "standard_scale": (f"{T}.test_parity::test_scalers_match_sklearn_on_wine",
                       "sklearn StandardScaler x sqrt((n-1)/n) (ddof=1)"),
    "stop_words_remover": (f"{T}.test_parity::test_ngram_and_stop_words_property",
                           "no reference with MLlib's list: property, listed words removed"),
    "string_index": (f"{T}.test_parity::test_string_index_and_one_hot_vector",
                     "pandas value_counts order"),
    "target_encode": (f"{T}.encoding.test_encoders::"
                      "test_target_encoder_without_folds_matches_sklearn",
                      "sklearn TargetEncoder"),
    "tokenizer": (f"{T}.test_parity::test_tokenizers_match_mllib_and_accept_null",
                  "MLlib Tokenizer on non-null text"),
    "trim_outliers": (f"{T}.outliers.test_outliers::test_trimmer_matches_feature_engine",
                      "feature-engine OutlierTrimmer"),
    "univariate_feature_selector": (f"{T}.test_parity::"
                                    "test_univariate_selector_matches_sklearn_on_breast_cancer",
                                    "sklearn SelectKBest / SelectPercentile / SelectFpr"),
    "variance_threshold_selector": (f"{T}.test_parity::test_variance_threshold_selector_ddof1",
                                    "numpy var(ddof=1)"),
    "vector_assembler": (f"{T}.test_parity::test_scalers_match_sklearn_on_wine",
                         "numpy column_stack"),
    "winsorize": (f"{T}.outliers.test_outliers::test_winsorizer_matches_feature_engine",
                  "feature-engine Winsorizer"),
    "woe_encode": (f"{T}.encoding.test_encoders::"
                   "test_count_ordinal_rare_onehot_woe_match_reference",
                   "feature-engine WoEEncoder"),
}


def test_every_registered_op_has_a_parity_check():
    assert set(COVERAGE) == set(load_operations())
    for op, (where, reference) in COVERAGE.items():
        module, function = where.split("::")
        assert callable(getattr(importlib.import_module(module), function)), (op, where)
        assert reference


def _vectors(spark, x, y=None):
    rows = [(Vectors.dense(r.tolist()),) if y is None else (Vectors.dense(r.tolist()), float(t))
            for r, t in zip(x, y if y is not None else [0] * len(x), strict=True)]
    return spark.createDataFrame(rows, ["features"] if y is None else ["features", "label"])


def _matrix(df, column):
    return np.array([r[0].toArray() for r in df.select(column).collect()])


@pytest.fixture(scope="module")
def cancer(spark):
    x, y = load_breast_cancer(return_X_y=True)
    return x, y, _vectors(spark, x, y).cache()


def test_univariate_selector_matches_sklearn_on_breast_cancer(cancer):
    x, y, df = cancer
    # several f_classif p-values are below 1e-16 here: MLlib's ranking by p-value ties them
    assert (f_classif(x, y)[1] < 1e-16).sum() >= 5
    cases = [("numTopFeatures", 5, SelectKBest(f_classif, k=5)),
             ("percentile", 0.2, SelectPercentile(f_classif, percentile=20)),
             ("fpr", 1e-30, SelectFpr(f_classif, alpha=1e-30))]
    for mode, threshold, reference in cases:
        model = UnivariateFeatureSelector(featureType="continuous", labelType="categorical",
                                          selectionMode=mode, selectionThreshold=threshold,
                                          outputCol="sel").fit(df)
        expected = np.flatnonzero(reference.fit(x, y).get_support()).tolist()
        assert model.selectedFeatures == expected, mode
    out = model.transform(df)
    np.testing.assert_array_equal(_matrix(out, "sel"), x[:, model.selectedFeatures])


def test_univariate_selector_f_regression_matches_sklearn(spark):
    x, y = load_diabetes(return_X_y=True)
    model = UnivariateFeatureSelector(featureType="continuous", labelType="continuous",
                                      selectionThreshold=3, outputCol="sel") \
        .fit(_vectors(spark, x, y))
    expected = np.flatnonzero(SelectKBest(f_regression, k=3).fit(x, y).get_support()).tolist()
    assert model.selectedFeatures == expected


def test_chi_sq_selector_ranks_by_statistic(spark):
    # 3 categorical slots, the last the strongest: MLlib (p-values 0.0 for all) keeps [0, 1]
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 3000)
    x = np.column_stack([np.where(rng.random(3000) < 0.8, y, 1 - y),
                         np.where(rng.random(3000) < 0.85, y, 1 - y),
                         np.where(rng.random(3000) < 0.95, y, 1 - y)]).astype(float)
    stats = [chi2_contingency(pd.crosstab(x[:, j], y), correction=False)[0] for j in range(3)]
    model = ChiSqSelector(numTopFeatures=2, outputCol="sel").fit(_vectors(spark, x, y))
    assert model.selectedFeatures == sorted(np.argsort(stats)[-2:].tolist()) == [1, 2]


def test_scalers_match_sklearn_on_wine(spark):
    x = load_wine().data
    df = _vectors(spark, x).cache()
    n = len(x)
    standard = StandardScaler(inputCol="features", outputCol="o", withMean=True).fit(df)
    # MLlib divides by the sample std (ddof=1): sklearn's output times sqrt((n - 1) / n)
    np.testing.assert_allclose(_matrix(standard.transform(df), "o"),
                               SkStandard().fit_transform(x) * math.sqrt((n - 1) / n),
                               rtol=1e-9, atol=1e-12)
    for ours, theirs in [(MinMaxScaler, SkMinMax), (MaxAbsScaler, SkMaxAbs)]:
        out = ours(inputCol="features", outputCol="o").fit(df).transform(df)
        np.testing.assert_allclose(_matrix(out, "o"), theirs().fit_transform(x), rtol=1e-9,
                                   atol=1e-12)
    # Spark's quantiles are observed values (sklearn interpolates): rank bounds, one rank either
    # side of the exact position, for the median and for both ends of the IQR
    robust = RobustScaler(inputCol="features", outputCol="o", withCentering=True,
                          relativeError=0.0).fit(df)

    def band(column, p):
        ordered = np.sort(column)
        return ordered[max(int(p * n) - 1, 0)], ordered[min(int(p * n) + 1, n - 1)]

    for j in range(x.shape[1]):
        lo, hi = band(x[:, j], 0.5)
        assert lo <= robust.median[j] <= hi
        (a, b), (c, d) = band(x[:, j], 0.25), band(x[:, j], 0.75)
        assert c - b <= robust.range[j] <= d - a
    zero_iqr = np.array([[0.0], [0.0], [0.0], [0.0], [7.0]])
    zdf = _vectors(spark, zero_iqr)
    out = RobustScaler(inputCol="features", outputCol="o", withCentering=True).fit(zdf)
    np.testing.assert_allclose(_matrix(out.transform(zdf), "o"),
                               SkRobust().fit_transform(zero_iqr))


def test_column_pca_matches_sklearn_on_iris(spark):
    x = load_iris().data
    pdf = pd.DataFrame(x, columns=list("abcd"))
    df = spark.createDataFrame(pdf)
    model = ColumnPCA(inputCols=list("abcd"), outputCol="pc", k=2).fit(df)
    sk = SkPCA(n_components=2).fit(x)
    np.testing.assert_allclose(model.explained_variance_, sk.explained_variance_ratio_,
                               rtol=1e-9)
    for ours, theirs in zip(model.components_, sk.components_, strict=True):
        sign = np.sign(np.dot(ours, theirs))  # a component is defined up to its sign
        np.testing.assert_allclose(np.array(ours) * sign, theirs, rtol=1e-7, atol=1e-9)


def test_drop_correlated_matches_pandas_on_breast_cancer(spark):
    data = load_breast_cancer(as_frame=True).frame.drop(columns="target")
    data.columns = [f"f{i}" for i in range(data.shape[1])]
    df = spark.createDataFrame(data)
    model = DropCorrelatedFeatures(threshold=0.9).fit(df)
    corr = data.corr()
    examined, expected = set(), []
    cols = list(data.columns)
    for i, keep in enumerate(cols):  # feature-engine's walk, in column order
        if keep in examined:
            continue
        examined.add(keep)
        for other in cols[i + 1:]:
            if other not in examined and abs(corr.loc[keep, other]) > 0.9:
                examined.add(other)
                expected.append(other)
    assert model.features_to_drop_ == expected
    for d in model.dropped_:
        assert d["value"] == pytest.approx(corr.loc[d["with"], d["column"]], rel=1e-9)


def test_drop_correlated_near_the_float_limit(spark):
    big = [(1e308, 1e308, 1.0), (-1e308, -1e308, 2.0), (5e307, 5e307, 0.0), (0.0, 0.0, 1.0)]
    df = spark.createDataFrame(big, "a double, b double, c double")
    model = DropCorrelatedFeatures(threshold=0.99).fit(df)
    assert model.features_to_drop_ == ["b"]
    assert model.dropped_[0]["value"] == pytest.approx(1.0)


def test_equal_width_matches_numpy_on_diabetes(spark):
    x = load_diabetes(as_frame=True).frame[["bmi", "bp"]]
    df = spark.createDataFrame(x.reset_index())
    model = EqualWidthDiscretiser(inputCols=["bmi", "bp"], outputCols=["b1", "b2"],
                                  bins=6).fit(df)
    out = model.transform(df).orderBy("index").toPandas()
    for c, o, splits in zip(["bmi", "bp"], ["b1", "b2"], model.getSplitsArray(), strict=True):
        edges = np.linspace(x[c].min(), x[c].max(), 7)
        np.testing.assert_allclose(splits[1:-1], edges[1:-1], rtol=1e-12)
        np.testing.assert_array_equal(out[o], np.digitize(x[c], edges[1:-1], right=False))


def test_equal_frequency_within_rank_bounds_on_diabetes(spark):
    from pyspark.ml.feature import QuantileDiscretizer
    x = load_diabetes().data[:, 2]
    df = spark.createDataFrame([(float(v),) for v in x], "bmi double")
    model = QuantileDiscretizer(inputCol="bmi", outputCol="b", numBuckets=4,
                                relativeError=0.01).fit(df)
    n = len(x)
    for k, edge in enumerate(model.getSplits()[1:-1], start=1):
        # the edge is an observed value whose rank (ties spanning it) is within the error
        below, up_to = (x < edge).sum(), (x <= edge).sum()
        assert below - 0.01 * n - 1 <= k * n / 4 <= up_to + 0.01 * n + 1


def test_bucketize_matches_numpy_digitize(spark):
    from pyspark.ml.feature import Bucketizer
    x = load_diabetes().data[:, 3]
    df = spark.createDataFrame([(float(v),) for v in x], "bp double")
    edges = [-0.05, 0.0, 0.05]
    out = Bucketizer(splits=[-math.inf, *edges, math.inf], inputCol="bp",
                     outputCol="b").transform(df)
    np.testing.assert_array_equal([r.b for r in out.collect()], np.digitize(x, edges))


def test_tokenizers_match_mllib_and_accept_null(spark):
    from pyspark.ml.feature import RegexTokenizer as MLRegex
    from pyspark.ml.feature import Tokenizer as MLTokenizer
    texts = ["Hello  world, again!", "  lead and trail  ", "", "a-b_c d"]
    df = spark.createDataFrame([(i, t) for i, t in enumerate(texts)], "id int, text string")
    for ours, theirs in [
        (RegexTokenizer(inputCol="text", outputCol="w"), MLRegex(inputCol="text", outputCol="w")),
        (RegexTokenizer(inputCol="text", outputCol="w", pattern="\\w+", gaps=False,
                        minTokenLength=2),
         MLRegex(inputCol="text", outputCol="w", pattern="\\w+", gaps=False, minTokenLength=2)),
        (Tokenizer(inputCol="text", outputCol="w"), MLTokenizer(inputCol="text", outputCol="w")),
    ]:
        got = [r.w for r in ours.transform(df).orderBy("id").collect()]
        want = [r.w for r in theirs.transform(df).orderBy("id").collect()]
        assert got == want
    with_null = spark.createDataFrame([(0, None), (1, "A b")], "id int, text string")
    out = RegexTokenizer(inputCol="text", outputCol="w").transform(with_null).orderBy("id")
    assert [r.w for r in out.collect()] == [None, ["a", "b"]]


def test_feature_hasher_property(spark):
    from pyspark.ml.feature import FeatureHasher
    df = spark.createDataFrame([("a", 1.0), ("b", None)], "c string, x double")
    out = FeatureHasher(inputCols=["c", "x"], outputCol="h", numFeatures=64).transform(df)
    assert [r.h.numNonzeros() for r in out.collect()] == [2, 1]


def test_ngram_and_stop_words_property(spark):
    from pyspark.ml.feature import NGram, StopWordsRemover
    df = spark.createDataFrame([(["the", "cat", "sat"],)], "w array<string>")
    out = StopWordsRemover(inputCol="w", outputCol="s").transform(df)
    out = NGram(n=2, inputCol="w", outputCol="g").transform(out).first()
    assert out.s == ["cat", "sat"] and out.g == ["the cat", "cat sat"]


def test_string_index_and_one_hot_vector(spark):
    from pyspark.ml.feature import OneHotEncoder as MLOneHot
    from pyspark.ml.feature import StringIndexer
    values = ["b", "a", "b", "c", "b", "a"]
    df = spark.createDataFrame([(i, v) for i, v in enumerate(values)], "id int, v string")
    indexed = StringIndexer(inputCol="v", outputCol="i").fit(df).transform(df)
    order = pd.Series(values).value_counts().index.tolist()  # frequency, ties by value
    assert [r.i for r in indexed.orderBy("id").collect()] == [float(order.index(v))
                                                               for v in values]
    hot = MLOneHot(inputCol="i", outputCol="h").fit(indexed).transform(indexed)
    dense = [r.h.toArray().tolist() for r in hot.orderBy("id").collect()]
    assert dense == [np.eye(3)[order.index(v)][:2].tolist() for v in values]


def test_variance_threshold_selector_ddof1(spark):
    from pyspark.ml.feature import VarianceThresholdSelector
    x = load_wine().data[:, :5]
    model = VarianceThresholdSelector(varianceThreshold=1.0, outputCol="s") \
        .fit(_vectors(spark, x))
    assert model.selectedFeatures == np.flatnonzero(x.var(axis=0, ddof=1) > 1.0).tolist()


# --- edge cases per family: the table in docs/ops.md ------------------------------------------

NUMERIC_ESTIMATORS = {
    "impute_end_tail": lambda: EndTailImputer(inputCols=["x"]),
    "winsorize": lambda: Winsorizer(inputCols=["x"], tail="both"),
    "trim_outliers": lambda: OutlierTrimmer(inputCols=["x"], tail="both"),
    "power_transform": lambda: PowerTransformer(inputCols=["x"]),
    "equal_width_discretise": lambda: EqualWidthDiscretiser(inputCols=["x"], outputCols=["b"]),
    "column_pca": lambda: ColumnPCA(inputCols=["x", "y"], outputCol="pc", k=1),
}


@pytest.fixture(scope="module")
def edge_frames(spark):
    schema = "x double, y double"
    return {
        "all_null": spark.createDataFrame([(None, 1.0), (None, 2.0)], schema),
        "empty": spark.createDataFrame([], schema),
        "near_limit": spark.createDataFrame([(1.7e308, 1.0), (-1.7e308, 2.0), (1.6e308, 3.0),
                                             (1.0, 4.0)], schema),
    }


@pytest.mark.parametrize("op", sorted(NUMERIC_ESTIMATORS))
@pytest.mark.parametrize("case", ["all_null", "empty"])
def test_numeric_estimators_refuse_what_cannot_be_fitted(edge_frames, op, case):
    with pytest.raises(FeatureInputError, match=r"'x'|\['x'|x, y|\['x', 'y'\]|PCA needs"):
        NUMERIC_ESTIMATORS[op]().fit(edge_frames[case])


@pytest.mark.parametrize("op", ["impute_end_tail", "winsorize", "trim_outliers",
                                "power_transform", "column_pca"])
def test_overflow_near_the_float_limit_is_reported(edge_frames, op):
    with pytest.raises(FeatureInputError, match="float limits"):
        NUMERIC_ESTIMATORS[op]().fit(edge_frames["near_limit"])


def test_equal_width_near_the_float_limit_stays_finite(edge_frames):
    model = NUMERIC_ESTIMATORS["equal_width_discretise"]().fit(edge_frames["near_limit"])
    assert all(math.isfinite(e) for e in model.getSplitsArray()[0][1:-1])
    assert sorted(r.b for r in model.transform(edge_frames["near_limit"]).collect()) == \
        [0.0, 5.0, 9.0, 9.0]


def test_equal_width_null_and_nan_both_go_to_the_extra_bucket(spark):
    df = spark.createDataFrame([(0, 1.0), (1, 5.0), (2, None), (3, float("nan"))],
                               "id int, x double")
    out = EqualWidthDiscretiser(inputCols=["x"], outputCols=["b"], bins=2).fit(df).transform(df)
    assert [r.b for r in out.orderBy("id").collect()] == [0.0, 1.0, 2.0, 2.0]


def test_vector_scalers_on_empty_input_and_overflow(spark):
    empty = spark.createDataFrame([], StructType([StructField("features", VectorUDT())]))
    for scaler in (StandardScaler, MinMaxScaler, MaxAbsScaler, RobustScaler):
        with pytest.raises(FeatureInputError, match=r"could not fit column 'features'|finite"):
            scaler(inputCol="features", outputCol="o").fit(empty)
    big = _vectors(spark, np.array([[1.7e308], [-1.7e308], [1.0]]))
    with pytest.raises(FeatureInputError, match="range"):
        MinMaxScaler(inputCol="features", outputCol="o").fit(big)


def test_encoders_treat_nan_as_missing_like_the_imputers(spark):
    df = spark.createDataFrame([(0, 1.0), (1, 1.0), (2, 2.0), (3, float("nan")), (4, None)],
                               "id int, x double")
    for stage in (OrdinalEncoder(inputCols=["x"], outputCols=["o"]),
                  CountFrequencyEncoder(inputCols=["x"], outputCols=["o"])):
        model = stage.fit(df)
        assert "NaN" not in model.encoder_dict_["x"]
        out = [r.o for r in model.transform(df).orderBy("id").collect()]
        assert out[3] is None and out[4] is None


def test_cyclical_rejects_a_non_positive_period(spark):
    from features.creation import CyclicalFeatures
    df = spark.createDataFrame([(-3.0,), (-1.0,)], "h double")
    with pytest.raises(FeatureInputError, match="positive finite maximum"):
        CyclicalFeatures(inputCols=["h"]).fit(df)


def test_selectors_on_empty_input(spark):
    empty = spark.createDataFrame([], StructType([StructField("features", VectorUDT()),
                                                StructField("label", DoubleType())]))
    with pytest.raises(FeatureInputError, match="no non-null vector"):
        UnivariateFeatureSelector(featureType="continuous", labelType="categorical",
                                  outputCol="s").fit(empty)
