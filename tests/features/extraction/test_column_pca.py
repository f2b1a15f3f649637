import numpy as np
import pytest
from sklearn.decomposition import PCA as SkPCA

from features.errors import FeatureSpecError
from features.extraction import ColumnPCA, ColumnPCAModel

COLS = ["a", "b", "c"]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    a = rng.normal(0, 3, 40)
    x = np.column_stack([a, 2 * a + rng.normal(0, 1, 40), rng.normal(5, 0.5, 40)])
    return x


def test_explained_variance_and_components_match_sklearn(spark, data):
    df = spark.createDataFrame([tuple(map(float, r)) for r in data], "a double, b double, c double")
    model = ColumnPCA(inputCols=COLS, outputCol="pc", k=2).fit(df)
    sk = SkPCA(n_components=2).fit(data)
    np.testing.assert_allclose(model.explained_variance_, sk.explained_variance_ratio_, rtol=1e-9)
    ours = np.array(model.components_)
    signs = np.sign((ours * sk.components_).sum(axis=1))  # components are defined up to sign
    np.testing.assert_allclose(ours * signs[:, None], sk.components_, atol=1e-9)
    out = np.array([r.pc.toArray() for r in model.transform(df).orderBy("a").collect()])
    ordered = data[np.argsort(data[:, 0])]
    # MLlib's projection does not centre; sklearn's does: they differ by the projected mean
    np.testing.assert_allclose(out, ordered @ ours.T, atol=1e-9)
    np.testing.assert_allclose(out - data.mean(axis=0) @ ours.T,
                               sk.transform(ordered) * signs, atol=1e-9)


def test_nulls_skipped_in_fit_and_null_output(spark, tmp_path):
    rows = [(1.0, 2.0, 0.0), (2.0, 4.1, 1.0), (3.0, 5.9, 0.0), (None, 1.0, 1.0),
            (float("nan"), 1.0, 1.0), (4.0, 8.0, 1.0)]
    df = spark.createDataFrame(rows, "a double, b double, c double").repartition(8)
    clean = df.na.drop().where("NOT isnan(a)")
    model = ColumnPCA(inputCols=COLS, outputCol="pc", k=1).fit(df)
    reference = ColumnPCA(inputCols=COLS, outputCol="pc", k=1).fit(clean)
    assert model.explained_variance_ == pytest.approx(reference.explained_variance_)
    out = {r.b: r.pc for r in model.transform(df).collect()}
    assert out[1.0] is None and out[2.0] is not None
    model.save(str(tmp_path / "pca"))
    loaded = ColumnPCAModel.load(str(tmp_path / "pca"))
    def pcs(m):
        return [(r.b, r.c, r.pc) for r in m.transform(df).orderBy("b", "c").collect()]

    assert pcs(loaded) == pcs(model)
    assert loaded.explained_variance_ == model.explained_variance_


def test_k_out_of_range(spark):
    df = spark.createDataFrame([(1.0, 2.0)], "a double, b double")
    with pytest.raises(FeatureSpecError, match=r"k \(at most the 2 inputCols\) must be in"):
        ColumnPCA(inputCols=["a", "b"], outputCol="pc", k=3).fit(df)
