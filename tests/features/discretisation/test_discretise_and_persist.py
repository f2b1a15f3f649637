import numpy as np
import pandas as pd
from feature_engine.discretisation import EqualWidthDiscretiser as FeEqualWidth
from pyspark.ml import Pipeline, PipelineModel

from features.discretisation import EqualWidthDiscretiser, EqualWidthDiscretiserModel
from features.encoding import (
    CountFrequencyEncoder,
    OneHotEncoder,
    OrdinalEncoder,
    RareLabelEncoder,
    TargetEncoder,
    WoEEncoder,
)
from features.imputation import (
    ArbitraryNumberImputer,
    CategoricalImputer,
    EndTailImputer,
    MissingIndicator,
)
from features.outliers import OutlierTrimmer, Winsorizer
from features.registry import stage_class
from features.transformation import Log1pTransformer, PowerTransformer
from tests.features.frames import rows


def test_equal_width_matches_feature_engine_off_the_edges(numeric_df, numeric_pdf):
    # Bucketizer bins are [a, b), feature-engine's (a, b]: equal unless a value sits exactly
    # on an interior edge, which this data avoids (checked below).
    model = EqualWidthDiscretiser(inputCols=["amount", "score"], outputCols=["a_bin", "s_bin"],
                                  bins=5).fit(numeric_df)
    assert isinstance(model, EqualWidthDiscretiserModel)
    fe = FeEqualWidth(bins=5, variables=["amount", "score"]).fit(numeric_pdf)
    for c, splits in zip(["amount", "score"], model.getSplitsArray(), strict=True):
        np.testing.assert_allclose(splits[1:-1], fe.binner_dict_[c][1:-1], rtol=1e-12)
        assert not set(numeric_pdf[c]) & set(splits)
    out = rows(model.transform(numeric_df))
    expected = fe.transform(numeric_pdf)
    assert out["a_bin"].astype(int).tolist() == expected["amount"].tolist()
    assert out["s_bin"].astype(int).tolist() == expected["score"].tolist()


def test_pipeline_of_every_stage_round_trips_exactly(spark, tmp_path):
    rng = np.random.default_rng(3)
    n = 40
    pdf = pd.DataFrame({
        "id": np.arange(n),
        "amount": np.where(np.arange(n) % 9 == 0, np.nan, np.round(rng.lognormal(3, 1, n), 2)),
        "tenure": rng.integers(1, 500, n).astype(float),
        "country": rng.choice(["DE", "FR", "US", "IT"], n),
        "segment": rng.choice(["gold", "silver", None], n),
        "y": np.arange(n) % 2,
    })
    df = spark.createDataFrame(pdf).cache()
    pipeline = Pipeline(stages=[
        MissingIndicator(inputCols=["amount"]),
        EndTailImputer(inputCols=["amount"], imputationMethod="iqr"),
        CategoricalImputer(inputCols=["segment"]),
        Winsorizer(inputCols=["amount", "tenure"], cappingMethod="quantiles", tail="both",
                   fold=0.05),
        OutlierTrimmer(inputCols=["tenure"], cappingMethod="iqr", fold=3.0),
        Log1pTransformer(inputCols=["amount"], outputCols=["amount_log1p"]),
        PowerTransformer(inputCols=["tenure"], outputCols=["tenure_yj"], standardize=True),
        ArbitraryNumberImputer(inputCols=["tenure_yj"], value=0.0),
        EqualWidthDiscretiser(inputCols=["tenure"], outputCols=["tenure_bin"], bins=4),
        RareLabelEncoder(inputCols=["country"], outputCols=["country_grp"], tol=0.2,
                         nCategories=2),
        OneHotEncoder(inputCols=["segment"], dropLast=True),
        OrdinalEncoder(inputCols=["country"], outputCols=["country_ord"],
                       encodingMethod="ordered", labelCol="y"),
        CountFrequencyEncoder(inputCols=["country"], outputCols=["country_freq"],
                              encodingMethod="frequency"),
        TargetEncoder(inputCols=["country"], outputCols=["country_te"], labelCol="y",
                      rowKeyCol="id", smoothing=1.0),
        WoEEncoder(inputCols=["segment"], outputCols=["segment_woe"], labelCol="y"),
    ])
    model = pipeline.fit(df)
    model.write().overwrite().save(str(tmp_path / "pipeline"))
    loaded = PipelineModel.load(str(tmp_path / "pipeline"))
    assert [type(s).__name__ for s in loaded.stages] == [type(s).__name__ for s in model.stages]
    assert loaded.stages[3].right_tail_caps_ == model.stages[3].right_tail_caps_
    a, b = rows(model.transform(df)), rows(loaded.transform(df))
    pd.testing.assert_frame_equal(a, b)
    assert len(a) > 30 and a["amount"].notna().all()
    assert stage_class("winsorize") is Winsorizer
    assert stage_class("equal_frequency_discretise").__module__ == "pyspark.ml.feature"


def test_empty_partitions_do_not_change_the_fit(numeric_df):
    padded = numeric_df.repartition(8)  # 41 rows over 8 partitions, most of them tiny or empty
    a = Winsorizer(inputCols=["amount"], cappingMethod="iqr", relativeError=0.0)
    assert a.fit(padded).right_tail_caps_ == a.fit(numeric_df.coalesce(1)).right_tail_caps_
    empty = numeric_df.limit(0)
    out = a.fit(numeric_df).transform(empty)
    assert out.count() == 0 and out.columns == numeric_df.columns
