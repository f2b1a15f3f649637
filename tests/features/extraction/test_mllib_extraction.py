import math

import numpy as np
import pytest

from features.spec import build_pipeline, feature_names


def test_tf_idf_chain_from_spec(spark):
    docs = [("the cat sat",), ("the dog sat",), ("a cat",)]
    df = spark.createDataFrame(docs, "text string")
    spec = {"steps": [
        {"name": "tokens", "op": "tokenizer", "params": {"inputCol": "text", "outputCol": "words"}},
        {"name": "tf", "op": "hashing_tf",
         "params": {"inputCol": "words", "outputCol": "tf", "numFeatures": 64}},
        {"name": "idf", "op": "idf", "params": {"inputCol": "tf", "outputCol": "tfidf"}},
    ]}
    model = build_pipeline(spec, df.columns).fit(df)
    hashing = model.stages[1]
    rows = model.transform(df).collect()
    cat = hashing.indexOf("cat")
    # MLlib IDF: log((m + 1) / (df + 1)); "cat" is in 2 of 3 documents
    assert rows[0].tfidf[cat] == pytest.approx(math.log(4 / 3))
    assert rows[1].tfidf[cat] == 0.0
    the = hashing.indexOf("the")
    assert rows[0].tfidf[the] == pytest.approx(math.log(4 / 3))


def test_hashing_polynomial_interaction(spark):
    df = spark.createDataFrame([(2.0, 3.0, "DE")], "x double, y double, country string")
    spec = {"steps": [
        {"name": "hash", "op": "feature_hasher",
         "params": {"inputCols": ["x", "country"], "outputCol": "hashed", "numFeatures": 32}},
        {"name": "xy", "op": "vector_assembler", "params": {"inputCols": ["x", "y"],
                                                            "outputCol": "xy"}},
        {"name": "poly", "op": "polynomial_expansion",
         "params": {"inputCol": "xy", "outputCol": "poly", "degree": 2}},
        {"name": "inter", "op": "interaction", "params": {"inputCols": ["x", "y"],
                                                          "outputCol": "x_y"}},
    ]}
    model = build_pipeline(spec, df.schema).fit(df)
    row = model.transform(df).first()
    assert sorted(row.hashed.values.tolist()) == [1.0, 2.0]  # x's value and country's indicator
    np.testing.assert_allclose(row.poly.toArray(), [2.0, 4.0, 3.0, 6.0, 9.0])
    assert row.x_y.toArray().tolist() == [6.0]
    assert feature_names(model, model.transform(df)) == ["x:y"]
