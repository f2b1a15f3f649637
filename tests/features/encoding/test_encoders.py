import numpy as np
import pandas as pd
import pytest
from feature_engine.encoding import CountFrequencyEncoder as FeCount
from feature_engine.encoding import OneHotEncoder as FeOneHot
from feature_engine.encoding import RareLabelEncoder as FeRare
from feature_engine.encoding import WoEEncoder as FeWoE
from sklearn.preprocessing import OrdinalEncoder as SkOrdinal
from sklearn.preprocessing import TargetEncoder as SkTarget

from features.encoding import (
    CountFrequencyEncoder,
    OneHotEncoder,
    OrdinalEncoder,
    RareLabelEncoder,
    TargetEncoder,
    WoEEncoder,
)
from features.errors import FeatureInputError, FeatureSpecError
from tests.features.frames import rows

# 30 rows, distinct frequencies (DE 12, FR 8, US 5, IT 3, ES 2) so frequency order is unique;
# every country has both label classes (feature-engine's WoE needs that).
COUNTRIES = ["DE"] * 12 + ["FR"] * 8 + ["US"] * 5 + ["IT"] * 3 + ["ES"] * 2
LABELS = ([1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 0] + [1, 1, 0, 0, 1, 0, 0, 0] + [0, 1, 0, 0, 1]
          + [1, 0, 1] + [0, 1])


@pytest.fixture(scope="module")
def cat_pdf():
    return pd.DataFrame({"id": range(30), "country": COUNTRIES, "y": LABELS,
                         "fold": [i % 3 for i in range(30)]})


@pytest.fixture(scope="module")
def cat_df(spark, cat_pdf):
    return spark.createDataFrame(cat_pdf).cache()


@pytest.fixture(scope="module")
def new_df(spark):
    """Scoring data: a seen category, an unseen one and a null."""
    return spark.createDataFrame([(0, "FR"), (1, "BR"), (2, None)], "id long, country string")


def test_count_ordinal_rare_onehot_woe_match_reference(cat_df, cat_pdf):
    X, y = cat_pdf[["country"]], cat_pdf["y"]
    fitted = {
        "count": CountFrequencyEncoder(inputCols=["country"], outputCols=["count"]),
        "freq": CountFrequencyEncoder(inputCols=["country"], outputCols=["freq"],
                                      encodingMethod="frequency"),
        "ord": OrdinalEncoder(inputCols=["country"], outputCols=["ord"]),
        "rare": RareLabelEncoder(inputCols=["country"], outputCols=["rare"], tol=0.15,
                                 nCategories=2),
        "woe": WoEEncoder(inputCols=["country"], outputCols=["woe"], labelCol="y",
                          smoothing=0.0),
    }
    df = cat_df
    for stage in fitted.values():
        df = stage.fit(df).transform(df)
    df = OneHotEncoder(inputCols=["country"], topK=3).fit(df).transform(df)
    out = rows(df)
    assert out["count"].tolist() == FeCount().fit_transform(X)["country"].tolist()
    np.testing.assert_allclose(
        out["freq"], FeCount(encoding_method="frequency").fit_transform(X)["country"])
    assert out["ord"].tolist() == SkOrdinal().fit_transform(X)[:, 0].astype(int).tolist()
    rare = FeRare(tol=0.15, n_categories=2).fit_transform(X)["country"]
    assert out["rare"].tolist() == rare.tolist()
    np.testing.assert_allclose(out["woe"], FeWoE().fit(X, y).transform(X)["country"],
                               rtol=1e-12)
    dummies = FeOneHot(top_categories=3).fit_transform(X)
    for name in ("country_DE", "country_FR", "country_US"):
        assert out[name].tolist() == dummies[name].tolist()
    assert "country_IT" not in out.columns


def test_target_encoder_without_folds_matches_sklearn(cat_df, cat_pdf):
    # sklearn's transform (not fit_transform) applies the all-rows encodings:
    # (sum + m * prior) / (n + m), the same formula with a float smooth.
    model = TargetEncoder(inputCols=["country"], outputCols=["te"], labelCol="y",
                          smoothing=5.0, folds=1).fit(cat_df)
    sk = SkTarget(smooth=5.0, target_type="continuous").fit(cat_pdf[["country"]], cat_pdf["y"])
    out = rows(model.transform(cat_df))
    np.testing.assert_allclose(out["te"], sk.transform(cat_pdf[["country"]])[:, 0], rtol=1e-12)
    assert model.prior_ == pytest.approx(np.mean(LABELS))


def test_target_encoder_out_of_fold_uses_only_other_folds(cat_df, cat_pdf):
    encoder = TargetEncoder(inputCols=["country"], outputCols=["te"], labelCol="y",
                            smoothing=2.0, foldCol="fold")
    out = rows(encoder.fit(cat_df).transform(cat_df))
    for i, r in cat_pdf.iterrows():
        rest = cat_pdf[cat_pdf.fold != r.fold]
        prior = rest.y.mean()
        same = rest[rest.country == r.country].y
        expected = (same.sum() + 2.0 * prior) / (len(same) + 2.0)
        assert out["te"][i] == pytest.approx(expected, rel=1e-12), i
    # The leak check: the row's own label never enters its encoding. Flipping one training
    # label changes only other folds' values, never the flipped row's own value.
    flipped = cat_pdf.assign(y=cat_pdf.y.where(cat_pdf.id != 0, 1 - cat_pdf.y))
    out2 = rows(encoder.fit(cat_df.sparkSession.createDataFrame(flipped)).transform(cat_df))
    assert out2["te"][0] == pytest.approx(out["te"][0], rel=1e-12)
    same_fold = cat_pdf.index[(cat_pdf.fold == 0) & (cat_pdf.country == "DE")]
    assert np.allclose(out2["te"][same_fold], out["te"][same_fold])


def test_target_encoder_hash_folds_and_scoring_mode(cat_df):
    model = TargetEncoder(inputCols=["country"], outputCols=["te"], labelCol="y",
                          rowKeyCol="id", folds=4).fit(cat_df)
    oof = rows(model.transform(cat_df))["te"]
    full = rows(model.setOutOfFold(False).transform(cat_df))["te"]
    expected_full = pd.Series(LABELS).groupby(COUNTRIES).mean()
    np.testing.assert_allclose(full, [expected_full[c] for c in COUNTRIES], rtol=1e-12)
    assert not np.allclose(oof, full)
    with pytest.raises(FeatureSpecError, match="needs rowKeyCol or foldCol"):
        TargetEncoder(inputCols=["country"], labelCol="y").fit(cat_df)


def test_unseen_and_null_policies_are_consistent(cat_df, new_df):
    stages = {
        "ord": OrdinalEncoder(inputCols=["country"], outputCols=["ord"]),
        "cnt": CountFrequencyEncoder(inputCols=["country"], outputCols=["cnt"]),
        "rare": RareLabelEncoder(inputCols=["country"], outputCols=["rare"], tol=0.2,
                                 nCategories=1),
        "woe": WoEEncoder(inputCols=["country"], outputCols=["woe"], labelCol="y"),
        "te": TargetEncoder(inputCols=["country"], outputCols=["te"], labelCol="y", folds=1),
    }
    models = {k: s.fit(cat_df) for k, s in stages.items()}
    onehot = OneHotEncoder(inputCols=["country"]).fit(cat_df)
    df = new_df
    for m in [*models.values(), onehot]:
        df = m.copy({m.handleUnseen: "keep"}).transform(df)
    keep = rows(df)
    prior = np.mean(LABELS)
    # row 1 is unseen 'BR': each encoder's reserved value
    assert (keep["ord"][1], keep["cnt"][1], keep["rare"][1]) == (5, 0, "Rare")
    assert (keep["woe"][1], keep["te"][1]) == (0.0, pytest.approx(prior))
    assert [keep[f"country_{c}"][1] for c in ("DE", "FR", "US", "IT", "ES")] == [0] * 5
    assert keep["country_FR"][0] == 1 and keep["ord"][0] == 2
    # row 2 is null: null out everywhere
    assert keep.loc[2, ["ord", "cnt", "rare", "woe", "te", "country_DE"]].isna().all()
    df = new_df
    for m in [*models.values(), onehot]:
        df = m.copy({m.handleUnseen: "null"}).transform(df)
    nulls = rows(df)
    assert nulls.loc[1, ["ord", "cnt", "rare", "woe", "te", "country_DE"]].isna().all()
    for m in [*models.values(), onehot]:
        with pytest.raises(Exception, match="category 'BR' in column 'country' was not seen"):
            m.transform(new_df).collect()


def test_woe_without_smoothing_names_the_pure_category(spark):
    df = spark.createDataFrame([("a", 1), ("a", 0), ("b", 1), ("b", 1)], "c string, y int")
    with pytest.raises(FeatureInputError, match=r"categories \['b'\] of column 'c'"):
        WoEEncoder(inputCols=["c"], labelCol="y", smoothing=0.0).fit(df)
    model = WoEEncoder(inputCols=["c"], labelCol="y").fit(df)
    assert np.isfinite(model.encoder_dict_["c"]["b"]) and model.encoder_dict_["c"]["b"] > 0
