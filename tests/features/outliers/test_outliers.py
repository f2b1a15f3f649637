import math

import numpy as np
import pytest
from feature_engine.outliers import OutlierTrimmer as FeTrimmer
from feature_engine.outliers import Winsorizer as FeWinsorizer

from features.errors import FeatureInputError, FeatureSpecError
from features.outliers import OutlierTrimmer, Winsorizer
from tests.features.frames import column, rows

CASES = [("gaussian", "both", 2.0), ("iqr", "left", 1.5), ("quantiles", "right", 0.1)]


@pytest.mark.parametrize(("method", "tail", "fold"), CASES)
def test_winsorizer_matches_feature_engine(numeric_df, numeric_pdf, method, tail, fold):
    # relativeError=0: exact quantiles with linear interpolation, as pandas. Tolerance 1e-9.
    model = Winsorizer(inputCols=["amount", "score"], cappingMethod=method, tail=tail,
                       fold=fold, relativeError=0.0).fit(numeric_df)
    fe = FeWinsorizer(capping_method=method, tail=tail, fold=fold,
                      variables=["amount", "score"]).fit(numeric_pdf)
    for c in ("amount", "score"):
        if tail != "left":
            assert model.right_tail_caps_[c] == pytest.approx(fe.right_tail_caps_[c], rel=1e-9)
        if tail != "right":
            assert model.left_tail_caps_[c] == pytest.approx(fe.left_tail_caps_[c], rel=1e-9)
    expected = fe.transform(numeric_pdf)
    out = rows(model.transform(numeric_df))
    for c in ("amount", "score"):
        np.testing.assert_allclose(out[c], expected[c].to_numpy(), rtol=1e-9)


def test_approximate_quantiles_stay_within_relative_error(numeric_df, numeric_pdf):
    # percentile_approx returns observed values whose rank is within relativeError * n of the
    # exact rank: with 41 rows and 0.05, at most 2 ranks away from the exact 0.9 quantile.
    model = Winsorizer(inputCols=["amount"], cappingMethod="quantiles", fold=0.1,
                       relativeError=0.05).fit(numeric_df)
    cap = model.right_tail_caps_["amount"]
    ordered = np.sort(numeric_pdf["amount"].to_numpy())
    assert cap in ordered
    assert abs(int(np.searchsorted(ordered, cap)) - 0.9 * 40) <= 0.05 * 41 + 1


def test_winsorizer_nulls_nan_and_infinities(special_df):
    # Fit ignores null/NaN/inf: bounds from 1,2,3,4,100 only. Transform caps +-inf, keeps
    # null and NaN.
    model = Winsorizer(inputCols=["x"], cappingMethod="quantiles", tail="both", fold=0.2,
                       relativeError=0.0).fit(special_df)
    assert model.left_tail_caps_["x"] == pytest.approx(np.quantile([1, 2, 3, 4, 100], 0.2))
    assert model.right_tail_caps_["x"] == pytest.approx(np.quantile([1, 2, 3, 4, 100], 0.8))
    out = column(model.transform(special_df), "x")
    lo, hi = model.left_tail_caps_["x"], model.right_tail_caps_["x"]
    assert out[:5] == pytest.approx([lo, 2.0, 3.0, 4.0, hi])
    assert out[5] is None and math.isnan(out[6])
    assert out[7] == pytest.approx(hi) and out[8] == pytest.approx(lo)


def test_winsorizer_mad_bounds(numeric_df, numeric_pdf):
    x = numeric_pdf["amount"].to_numpy()
    med = np.median(x)
    mad = np.median(np.abs(x - med)) / 0.6744897501960817
    model = Winsorizer(inputCols=["amount"], cappingMethod="mad", tail="both", fold=3.0,
                       relativeError=0.0).fit(numeric_df)
    assert model.right_tail_caps_["amount"] == pytest.approx(med + 3 * mad, rel=1e-9)
    assert model.left_tail_caps_["amount"] == pytest.approx(med - 3 * mad, rel=1e-9)


def test_winsorizer_writes_output_columns(numeric_df):
    out = Winsorizer(inputCols=["amount"], outputCols=["amount_capped"]).fit(numeric_df) \
        .transform(numeric_df)
    assert {"amount", "amount_capped"} <= set(out.columns)
    assert max(column(out, "amount_capped")) < max(column(out, "amount"))


def test_winsorizer_rejects_bad_params_and_all_null(spark, special_df):
    with pytest.raises(FeatureSpecError, match="cappingMethod must be one of"):
        Winsorizer(inputCols=["x"], cappingMethod="zscore").fit(special_df)
    with pytest.raises(FeatureSpecError, match=r"fold \(the tail quantile.*\(0.0, 0.2\], got 0.5"):
        Winsorizer(inputCols=["x"], cappingMethod="quantiles", fold=0.5).fit(special_df)
    empty = spark.createDataFrame([(None,), (float("nan"),)], "x double")
    with pytest.raises(FeatureInputError, match=r"\['x'\] have no finite value"):
        Winsorizer(inputCols=["x"]).fit(empty)


def test_trimmer_matches_feature_engine(numeric_df, numeric_pdf):
    model = OutlierTrimmer(inputCols=["amount", "score"], cappingMethod="iqr", tail="both",
                           fold=1.5, relativeError=0.0).fit(numeric_df)
    fe = FeTrimmer(capping_method="iqr", tail="both", fold=1.5,
                   variables=["amount", "score"]).fit(numeric_pdf)
    assert column(model.transform(numeric_df), "id") == sorted(fe.transform(numeric_pdf)["id"])


def test_trimmer_keeps_null_and_nan_drops_infinities(special_df):
    model = OutlierTrimmer(inputCols=["x"], cappingMethod="quantiles", tail="both", fold=0.2,
                           relativeError=0.0).fit(special_df)
    assert column(model.transform(special_df), "id") == [1, 2, 3, 5, 6]
