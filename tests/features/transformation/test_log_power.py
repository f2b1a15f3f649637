import math

import numpy as np
import pytest
from sklearn.preprocessing import PowerTransformer as SkPower

from features.errors import FeatureInputError
from features.transformation import Log1pTransformer, LogTransformer, PowerTransformer
from tests.features.frames import rows


def test_log_and_log1p_match_numpy(numeric_df, numeric_pdf):
    df = LogTransformer(inputCols=["amount"], outputCols=["ln"]).transform(numeric_df)
    df = LogTransformer(inputCols=["amount"], outputCols=["log10"], base="10").transform(df)
    df = Log1pTransformer(inputCols=["amount"], outputCols=["l1p"]).transform(df)
    out = rows(df)
    x = numeric_pdf["amount"].to_numpy()
    np.testing.assert_allclose(out["ln"], np.log(x), rtol=1e-12)
    np.testing.assert_allclose(out["log10"], np.log10(x), rtol=1e-12)
    np.testing.assert_allclose(out["l1p"], np.log1p(x), rtol=1e-12)


def test_log_invalid_values_and_specials(special_df):
    out = rows(LogTransformer(inputCols=["x"], handleOutOfDomain="null").transform(special_df))
    x = out["x"].tolist()
    assert x[:5] == pytest.approx(np.log([1.0, 2.0, 3.0, 4.0, 100.0]).tolist())
    assert x[5] is None or math.isnan(x[5])  # null stays null (pandas shows None/NaN)
    assert math.isnan(x[6]) and x[7] == math.inf
    assert x[8] is None or math.isnan(x[8])  # -inf is invalid -> null
    with pytest.raises(Exception, match="column 'x' has value -Infinity"):
        LogTransformer(inputCols=["x"]).transform(special_df).collect()


@pytest.mark.parametrize("method", ["yeo-johnson", "box-cox"])
def test_power_transformer_matches_sklearn(numeric_df, numeric_pdf, method):
    # Fewer rows than maxSampleRows: lambda is fitted on all rows, as scikit-learn does.
    cols = ["amount"] if method == "box-cox" else ["amount", "score"]
    model = PowerTransformer(inputCols=cols, method=method, standardize=True).fit(numeric_df)
    sk = SkPower(method=method, standardize=True).fit(numeric_pdf[cols].to_numpy())
    np.testing.assert_allclose([model.lambdas_[c] for c in cols], sk.lambdas_, atol=1e-5)
    out = rows(model.transform(numeric_df))
    expected = sk.transform(numeric_pdf[cols].to_numpy())
    for i, c in enumerate(cols):
        np.testing.assert_allclose(out[c], expected[:, i], atol=1e-4)


def test_box_cox_rejects_non_positive(numeric_df):
    with pytest.raises(FeatureInputError, match="Box-Cox needs values > 0"):
        PowerTransformer(inputCols=["score"], method="box-cox").fit(numeric_df)
