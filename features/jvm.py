"""MLlib's own Model classes built from values lakeprep fitted, through their JVM constructors.

Where lakeprep computes an MLlib estimator's statistics itself (the fused fit's shared passes,
the vector selectors' tests), it hands back the Model MLlib's fit would: the same class, so it
transforms, persists (``data/`` in MLlib's layout) and loads as MLlib's.

>>> from pyspark.ml.feature import ChiSqSelector
>>> sc = spark.sparkContext
>>> model = mllib_model(sc, "ChiSqSelectorModel", ChiSqSelector(), int_array(sc, [0, 3]))
>>> type(model).__name__, model.selectedFeatures
('ChiSqSelectorModel', [0, 3])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyspark import SparkContext
from pyspark.ml.param import Params


def int_array(sc: SparkContext, values: Sequence[int]) -> Any:
    """A Java ``int[]`` of ``values`` (what MLlib's selector models take)."""
    gateway = sc._gateway
    assert gateway is not None
    array = gateway.new_array(gateway.jvm.int, len(values))
    for i, v in enumerate(values):
        array[i] = int(v)
    return array


def string_arrays(sc: SparkContext, rows: Sequence[Sequence[str]]) -> Any:
    """A jagged Java ``String[][]`` of ``rows`` (StringIndexerModel's labels per column)."""
    gateway = sc._gateway
    assert gateway is not None
    outer = gateway.new_array(gateway.jvm.java.lang.String, len(rows), 0)
    for i, row in enumerate(rows):
        outer[i] = gateway.new_array(gateway.jvm.java.lang.String, len(row))
        for j, value in enumerate(row):
            outer[i][j] = value
    return outer


def mllib_model(sc: SparkContext, name: str, estimator: Params, *args: Any) -> Any:
    """MLlib's ``org.apache.spark.ml.feature.<name>`` built with ``args``, wrapped in its pyspark
    class and given the estimator's params (as MLlib's ``copyValues``)."""
    import pyspark.ml.feature as mllib

    jvm = sc._jvm
    assert jvm is not None
    java_model = getattr(jvm.org.apache.spark.ml.feature, name)(estimator.uid, *args)
    return estimator._copyValues(getattr(mllib, name)(java_model))
