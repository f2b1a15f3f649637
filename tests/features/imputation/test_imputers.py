import math

import numpy as np
import pandas as pd
import pytest
from feature_engine.imputation import AddMissingIndicator
from feature_engine.imputation import EndTailImputer as FeEndTail
from pyspark.ml.feature import Imputer
from sklearn.impute import SimpleImputer

from features.errors import FeatureInputError
from features.imputation import (
    ArbitraryNumberImputer,
    CategoricalImputer,
    EndTailImputer,
    MissingIndicator,
)
from tests.features.frames import rows

VALUES = [1.0, 3.0, None, 7.0, 2.0, float("nan"), 10.0, 4.0, None, 6.0, 5.0]


@pytest.fixture(scope="module")
def gaps(spark):
    data = [(i, v, v if v is None or not math.isnan(v) else None,
             ["DE", "FR", None, "DE", "US", "FR", "DE", None, "US", "FR", "DE"][i])
            for i, v in enumerate(VALUES)]
    return spark.createDataFrame(data, "id int, x double, y double, c string").cache()


def finite_pdf():
    x = pd.Series([v for v in VALUES if v is not None and not math.isnan(v)])
    return pd.DataFrame({"x": x})


@pytest.mark.parametrize(("method", "tail", "fold"),
                         [("gaussian", "right", 3.0), ("iqr", "left", 1.5), ("max", "right", 2.0)])
def test_end_tail_imputer_matches_feature_engine(gaps, method, tail, fold):
    model = EndTailImputer(inputCols=["x"], imputationMethod=method, tail=tail, fold=fold,
                           relativeError=0.0).fit(gaps)
    fe = FeEndTail(imputation_method=method, tail=tail, fold=fold).fit(finite_pdf())
    assert model.imputer_values_["x"] == pytest.approx(fe.imputer_dict_["x"], rel=1e-12)
    out = rows(model.transform(gaps))
    filled = out["x"][[2, 5, 8]]  # null, NaN, null
    assert filled.tolist() == pytest.approx([fe.imputer_dict_["x"]] * 3, rel=1e-12)


def test_arbitrary_imputer_and_indicator_match_feature_engine(gaps):
    staged = MissingIndicator(inputCols=["x", "c"]).transform(gaps)
    out = rows(ArbitraryNumberImputer(inputCols=["x"], outputCols=["x_filled"],
                                      value=-1.0).transform(staged))
    pdf = pd.DataFrame({"x": [np.nan if v is None else v for v in VALUES]})
    expected = AddMissingIndicator(variables=["x"]).fit_transform(pdf)
    assert out["x_na"].tolist() == expected["x_na"].tolist()
    assert out["c_na"].tolist() == [0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0]
    assert out["x_filled"].tolist() == pdf["x"].fillna(-1.0).tolist()


def test_mllib_imputer_mean_matches_sklearn(gaps):
    # MLlib's Imputer (op 'impute') treats null and NaN as missing, as SimpleImputer does NaN.
    model = Imputer(inputCols=["x"], outputCols=["x_imp"], strategy="mean").fit(gaps)
    out = rows(model.transform(gaps))
    pdf = pd.DataFrame({"x": [np.nan if v is None else v for v in VALUES]})
    expected = SimpleImputer(strategy="mean").fit_transform(pdf)[:, 0]
    np.testing.assert_allclose(out["x_imp"], expected, rtol=1e-12)


def test_categorical_imputer_frequent_and_missing(gaps):
    frequent = CategoricalImputer(inputCols=["c"], strategy="frequent").fit(gaps)
    assert frequent.imputer_values_ == {"c": "DE"}
    out = rows(CategoricalImputer(inputCols=["c", "y"], outputCols=["c2", "y2"])
               .fit(gaps).transform(frequent.transform(gaps)))
    assert out["c"].tolist()[2] == "DE" and out["c2"].tolist()[7] == "DE"
    assert out["c"].isna().sum() == 0


def test_categorical_imputer_keeps_numeric_type_and_ties(spark):
    df = spark.createDataFrame([(2,), (1,), (None,), (1,), (2,)], "k int")
    model = CategoricalImputer(inputCols=["k"], strategy="frequent").fit(df)
    assert model.imputer_values_ == {"k": "1"}  # tie 1/2 -> smallest, deterministic
    out = model.transform(df)
    assert dict(out.dtypes)["k"] == "int" and sorted(r.k for r in out.collect()) == [1, 1, 1,
                                                                                    2, 2]


def test_all_null_columns_fail_with_the_column_named(spark):
    df = spark.createDataFrame([(None, None), (None, None)], "x double, c string")
    with pytest.raises(FeatureInputError, match=r"EndTailImputer: column\(s\) \['x'\]"):
        EndTailImputer(inputCols=["x"]).fit(df)
    with pytest.raises(FeatureInputError, match=r"\['c'\] are all null"):
        CategoricalImputer(inputCols=["c"], strategy="frequent").fit(df)
    # the arbitrary imputer and the indicator need no fit: all-null becomes all-filled
    out = ArbitraryNumberImputer(inputCols=["x"], value=0.0).transform(df).collect()
    assert [r.x for r in out] == [0.0, 0.0]
