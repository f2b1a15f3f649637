import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency
from sklearn.feature_selection import VarianceThreshold, chi2, f_classif

from features.errors import FeatureInputError
from features.selection import DropLowVariance, UnivariateSelector

NUMERIC = ["orders_count_90d", "amount_sum_90d", "amount_mean_90d", "tenure_days", "flag"]
LABEL = "purchased_next_30d"


@pytest.mark.parametrize("threshold", [0.0, 0.02, 10.0])
def test_variance_matches_sklearn(retail_df, retail_pdf, threshold):
    ours = DropLowVariance(inputCols=NUMERIC, threshold=threshold).fit(retail_df)
    sk = VarianceThreshold(threshold=threshold).fit(retail_pdf[NUMERIC])
    assert ours.selected_features_ == list(np.array(NUMERIC)[sk.get_support()])
    variances = dict(zip(NUMERIC, sk.variances_, strict=True))
    for d in ours.dropped_:
        assert d["value"] == pytest.approx(variances[d["column"]], rel=1e-9)


def test_variance_all_null_and_non_numeric(spark):
    df = spark.createDataFrame([(1.0, None, "x"), (1.0, None, "y")], "a double, b double, s string")
    model = DropLowVariance().fit(df)  # the string column is not a candidate
    assert model.dropped_ == [{"column": "a", "reason": "low_variance", "value": 0.0},
                              {"column": "b", "reason": "all_null", "value": None}]
    with pytest.raises(FeatureInputError, match="numeric column"):
        DropLowVariance(inputCols=["s"]).fit(df)


def test_anova_matches_f_classif(retail_df, retail_pdf):
    model = UnivariateSelector(inputCols=NUMERIC, labelCol=LABEL, k=len(NUMERIC)).fit(retail_df)
    f, p = f_classif(retail_pdf[NUMERIC], retail_pdf[LABEL])
    for i, c in enumerate(NUMERIC):
        assert model.scores_[c]["statistic"] == pytest.approx(f[i], rel=1e-8)
        assert model.scores_[c]["p_value"] == pytest.approx(p[i], rel=1e-6, abs=1e-300)
    assert model.dropped_ == []


def test_chi2_matches_sklearn_one_hot_and_scipy(retail_df, retail_pdf):
    model = UnivariateSelector(inputCols=["segment", "country", "orders_count_90d"],
                               categoricalCols=["orders_count_90d"], labelCol=LABEL).fit(retail_df)
    for c in ["segment", "country", "orders_count_90d"]:
        one_hot = pd.get_dummies(retail_pdf[c]).astype(float)
        stat = chi2(one_hot, retail_pdf[LABEL])[0].sum()
        table = pd.crosstab(retail_pdf[c], retail_pdf[LABEL])
        expected = chi2_contingency(table, correction=False)
        assert model.scores_[c]["test"] == "chi2"
        assert model.scores_[c]["statistic"] == pytest.approx(stat, rel=1e-9)
        assert model.scores_[c]["statistic"] == pytest.approx(expected.statistic, rel=1e-9)
        assert model.scores_[c]["p_value"] == pytest.approx(expected.pvalue, rel=1e-6)
        assert model.scores_[c]["dof"] == expected.dof


def test_k_best_and_p_value_modes(retail_df, retail_pdf):
    cols = NUMERIC + ["segment"]
    top2 = UnivariateSelector(inputCols=cols, labelCol=LABEL, k=2).fit(retail_df)
    p_values = {c: s["p_value"] for c, s in top2.scores_.items()}
    ranked = sorted((c for c in cols if not np.isnan(p_values[c])), key=p_values.get)
    assert top2.selected_features_ == [c for c in cols if c in ranked[:2]]
    assert top2.selected_features_[0] == "amount_sum_90d"  # the label was built from it
    assert all(d["reason"] == "not_top_k" for d in top2.dropped_)
    strict = UnivariateSelector(inputCols=cols, labelCol=LABEL, selectionMode="p_value",
                                alpha=1e-3).fit(retail_df)
    assert strict.selected_features_ == [c for c in cols if p_values[c] < 1e-3]
    assert LABEL in strict.transform(retail_df).columns


def test_univariate_nulls_ignored(spark):
    rows = [(1.0, "a", 0), (2.0, "a", 0), (None, None, 1), (9.0, "b", 1), (8.0, "b", 1),
            (float("nan"), "b", None)]
    df = spark.createDataFrame(rows, "x double, c string, y int")
    model = UnivariateSelector(labelCol="y", k=5).fit(df)
    f, _ = f_classif(np.array([[1.0], [2.0], [9.0], [8.0]]), [0, 0, 1, 1])
    assert model.scores_["x"]["statistic"] == pytest.approx(f[0])
    assert model.scores_["c"]["n"] == 4
