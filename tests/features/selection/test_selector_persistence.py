import pytest

from features.selection import (
    DropConstantFeatures,
    DropCorrelatedFeatures,
    DropDuplicateFeatures,
    DropLowVariance,
    UnivariateSelector,
)


@pytest.mark.parametrize("estimator", [
    DropConstantFeatures(tol=0.9),
    DropDuplicateFeatures(),
    DropCorrelatedFeatures(threshold=0.7),
    DropLowVariance(threshold=0.05),
    UnivariateSelector(labelCol="purchased_next_30d", k=3),
], ids=lambda e: type(e).__name__)
def test_save_load_keeps_report_and_output(retail_df, tmp_path, estimator):
    model = estimator.fit(retail_df)
    assert model.dropped_, "each case should drop something"
    model.save(str(tmp_path / "m"))
    loaded = type(model).load(str(tmp_path / "m"))
    assert repr(loaded.dropped_) == repr(model.dropped_)  # repr: NaN scores compare equal
    assert loaded.getInputCols() == model.getInputCols()
    assert loaded.transform(retail_df).collect() == model.transform(retail_df).collect()
