"""Code written against MLlib's ChiSqSelector / UnivariateFeatureSelector runs as is on lakeprep's.

Each test is MLlib user code (fit, ``selectedFeatures``, transform, save/load, a Pipeline) run
once with MLlib's estimator and once with lakeprep's, on the retail frame where no p-value
underflows (so MLlib's p-value ranking and lakeprep's statistic ranking pick the same slots):
both must answer the same way.
"""

from __future__ import annotations

import pytest
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml import feature as mllib
from pyspark.ml.feature import VectorAssembler

from features import selection

SLOTS = ["orders_count_90d", "amount_sum_90d", "tenure_days", "flag", "amount_mean_90d"]
LABEL = "purchased_next_30d"

SELECTORS = {  # built as MLlib's documentation does, keywords and setters
    "chi_sq": lambda cls: cls(featuresCol="slots", outputCol="kept", labelCol=LABEL)
    .setSelectorType("numTopFeatures").setNumTopFeatures(2),
    "anova_f": lambda cls: cls(featuresCol="slots", outputCol="kept", labelCol=LABEL,
                               selectionMode="numTopFeatures")
    .setFeatureType("continuous").setLabelType("categorical").setSelectionThreshold(2),
}
CLASSES = {"chi_sq": (mllib.ChiSqSelector, selection.ChiSqSelector, mllib.ChiSqSelectorModel),
           "anova_f": (mllib.UnivariateFeatureSelector, selection.UnivariateFeatureSelector,
                       mllib.UnivariateFeatureSelectorModel)}


# each slot is 0/1 (above a cut or not): the chi-square test reads slot values as categories,
# and with one degree of freedom everywhere MLlib's p-value order is lakeprep's statistic order
CUTS = {"orders_count_90d": 5, "amount_sum_90d": 100, "tenure_days": 1000, "flag": 0.5,
        "amount_mean_90d": 33}


@pytest.fixture(scope="module")
def slots(retail_df):
    """The retail frame's numeric columns cut in two and assembled (ML attributes name each
    slot)."""
    from pyspark.sql import functions as F
    binned = retail_df.select(LABEL, *[(F.col(c) > cut).cast("double").alias(c)
                                       for c, cut in CUTS.items()])
    return VectorAssembler(inputCols=SLOTS, outputCol="slots").transform(binned).cache()


def mllib_user_code(estimator, df, folder):
    """What a user of MLlib's selector writes: fit, read the selection, transform, save, load."""
    model = estimator.fit(df)
    chosen = list(model.selectedFeatures)
    out = model.transform(df)
    names = [a["name"] for a in out.schema["kept"].metadata["ml_attr"]["attrs"]["numeric"]]
    rows = [r.kept.toArray().tolist() for r in out.orderBy(LABEL, *SLOTS).collect()]
    model.write().overwrite().save(str(folder / "model"))
    reloaded = type(model).load(str(folder / "model"))
    pipeline = Pipeline(stages=[estimator]).fit(df)
    pipeline.write().overwrite().save(str(folder / "pipeline"))
    in_pipeline = PipelineModel.load(str(folder / "pipeline")).stages[-1]
    return {"model": type(model), "selected": chosen, "names": names, "rows": rows,
            "reloaded": (type(reloaded), list(reloaded.selectedFeatures)),
            "in_pipeline": (type(in_pipeline), list(in_pipeline.selectedFeatures))}


@pytest.mark.parametrize("test", sorted(SELECTORS))
def test_mllib_code_runs_the_same_on_lakeprep_selectors(slots, tmp_path, test):
    theirs_cls, ours_cls, model_cls = CLASSES[test]
    theirs = mllib_user_code(SELECTORS[test](theirs_cls), slots, tmp_path / "mllib")
    ours = mllib_user_code(SELECTORS[test](ours_cls), slots, tmp_path / "lakeprep")
    assert ours == theirs
    assert ours["model"] is model_cls
    assert len(ours["selected"]) == 2
    assert ours["names"] == [SLOTS[i] for i in ours["selected"]]  # the kept slots keep names
    assert ours["reloaded"] == ours["in_pipeline"] == (model_cls, ours["selected"])
