"""The fused fit equals the stage-by-stage fit: fitted values and output, stage by stage and whole.

Each spec is fitted twice on the same small frame, fused (the default) and with
``fused=False`` (Pipeline's own stage-after-stage fit); every fitted model and the transformed
rows must be equal. On 60 rows the approximate quantiles of ``percentile_approx`` (fused) and
``approxQuantile`` (MLlib) are both exact, so quantile-based stages are compared exactly too.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from pyspark.ml import Estimator
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.linalg import Vector
from pyspark.sql import types as T

from features.errors import FeatureInputError
from features.fused import ALL, costly_to_recompute, plan_levels
from features.imputation import MissingIndicator
from features.outliers import Winsorizer
from features.spec import _io_columns, build_pipeline, load_operations

ROOT = Path(__file__).resolve().parents[2]
N = 60


@pytest.fixture(scope="module")
def frame(spark):
    """60 rows: lognormal numerics with null and NaN, three categoricals with nulls, a label."""
    rng = np.random.default_rng(13)
    cats5, cats3 = ["DE", "FR", "NL", "IT", "ES"], ["gold", "silver", "bronze"]
    rows = []
    for i in range(N):
        a, b, c = (float(np.round(rng.lognormal(2, 0.7), 3)) for _ in range(3))
        rows.append((i, None if i % 11 == 3 else a, float("nan") if i % 13 == 5 else b,
                     None if i % 7 == 2 else c,
                     None if i % 17 == 4 else cats5[int(rng.integers(0, 5)) if i % 3 else 0],
                     cats3[int(rng.integers(0, 3))], f"k{int(rng.integers(0, 12))}",
                     int(rng.random() < 0.4)))
    schema = T.StructType([T.StructField("id", T.LongType()), T.StructField("a", T.DoubleType()),
                           T.StructField("b", T.DoubleType()), T.StructField("c", T.DoubleType()),
                           T.StructField("cat5", T.StringType()),
                           T.StructField("cat3", T.StringType()),
                           T.StructField("cat12", T.StringType()),
                           T.StructField("label", T.IntegerType())])
    return spark.createDataFrame(rows, schema).cache()


def _plain(value):
    """A comparable Python value: vectors as lists, floats with NaN as a marker."""
    if isinstance(value, Vector):
        return [_plain(float(x)) for x in value.toArray()]
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


JAVA_FITTED = ("surrogateDF", "mean", "std", "originalMin", "originalMax", "maxAbs",
               "labelsArray", "categorySizes", "median", "range", "selectedFeatures")


def _fitted_values(model) -> dict:
    """What a fitted model learnt: its Params (Python stages) or its JVM model's attributes."""
    out = {}
    for param in model.params:
        if model.isDefined(param) and param.name not in ("inputCol", "outputCol"):
            out[param.name] = _plain(model.getOrDefault(param))
    for name in JAVA_FITTED:
        if hasattr(type(model), name) and hasattr(model, "_java_obj"):
            value = getattr(model, name)
            out[name] = ([_plain(list(r)) for r in value.collect()] if name == "surrogateDF"
                         else _plain(value))
    return out


REL = 1e-9  # derived statistics (mean, std after an imputer) differ from MLlib's in rounding


def _assert_close(found, expected, where: str) -> None:
    """Equal, but floats within ``REL`` (absolute 1e-12 near 0: a scaled value at the mean)."""
    if isinstance(expected, float) and isinstance(found, float):
        assert math.isclose(found, expected, rel_tol=REL, abs_tol=1e-12), \
            f"{where}: {found!r} != {expected!r}"
    elif isinstance(expected, list | tuple) and isinstance(found, list | tuple):
        assert len(found) == len(expected), f"{where}: {found!r} != {expected!r}"
        for k, (f, e) in enumerate(zip(found, expected, strict=True)):
            _assert_close(f, e, f"{where}[{k}]")
    elif isinstance(expected, dict) and isinstance(found, dict):
        assert found.keys() == expected.keys(), where
        for k in expected:
            _assert_close(found[k], expected[k], f"{where}.{k}")
    else:
        assert found == expected, f"{where}: {found!r} != {expected!r}"


def _both(spec: dict, df):
    """Fit ``spec`` fused and stage by stage; assert equal models and rows; return both models."""
    fused = build_pipeline(spec, df).fit(df)
    plain = build_pipeline(spec, df, fused=False).fit(df)
    assert len(fused.stages) == len(plain.stages)
    for f, p in zip(fused.stages, plain.stages, strict=True):
        assert type(f) is type(p)
        _assert_close(_fitted_values(f), _fitted_values(p), type(f).__name__)
    rows_f = [_plain(list(r)) for r in fused.transform(df).orderBy("id").collect()]
    rows_p = [_plain(list(r)) for r in plain.transform(df).orderBy("id").collect()]
    assert fused.transform(df).columns == plain.transform(df).columns
    _assert_close(rows_f, rows_p, "rows")
    return fused, plain


def step(name, op, **params):
    return {"name": name, "op": op, "params": params}


def test_mllib_numeric_stages_fused_equal_their_own_fit(frame, caplog):
    spec = {"steps": [
        step("mean", "impute", inputCols=["a", "b"], outputCols=["a_mean", "b_mean"]),
        step("median", "impute", strategy="median", inputCols=["a", "c"],
             outputCols=["a_med", "c_med"]),
        step("bins1", "equal_frequency_discretise", inputCol="a_med", outputCol="a_bin",
             numBuckets=4),
        step("bins2", "equal_frequency_discretise", inputCols=["a_mean", "b_mean"],
             outputCols=["a_mbin", "b_mbin"], numBucketsArray=[3, 5]),
        step("assemble", "vector_assembler", inputCols=["a_med", "c_med", "b_mean"],
             outputCol="v"),
        step("standard", "standard_scale", inputCol="v", outputCol="v_std", withMean=True),
        step("min_max", "min_max_scale", inputCol="v", outputCol="v_mm"),
        step("max_abs", "max_abs_scale", inputCol="v", outputCol="v_ma"),
        step("robust", "robust_scale", inputCol="v", outputCol="v_r", withCentering=True),
        step("select", "variance_threshold_selector", featuresCol="v", outputCol="v_sel",
             varianceThreshold=30.0),
    ]}
    with caplog.at_level("INFO", logger="lakeprep.features.fused"):
        fused, _ = _both(spec, frame)
    report = fused.fit_report
    # level 0: both imputers and, derived from their pass, the moment stages (one agg job);
    # level 1: discretisers and the robust scaler (quantiles of imputed columns; one agg job)
    assert (report.levels, report.passes, report.unfused) == (2, 2, [])
    derived = [r.getMessage().split("'")[1] for r in caplog.records
               if "statistics derived" in r.getMessage()]
    assert sorted(set(derived)) == ["max_abs", "min_max", "select", "standard"]


def test_moments_after_imputation_are_derived_in_the_imputers_pass(frame):
    """A scaler on an assembly of imputed columns is fitted in the imputers' level, from raw
    count/mean/variance/min/max and the fill value: a float column, an int column (its fill
    truncated by the cast), lakeprep's end-tail fill, a plain column. (Max-abs, the variance
    selector, NaN as missing and the median: test_mllib_numeric_stages_fused_equal_their_own_fit.)
    """
    from pyspark.sql import functions as F
    df = frame.select(
        "id", "a", F.col("c").cast("float").alias("f"),
        F.when(F.col("id") % 5 == 1, None).otherwise(F.col("id") % 7).cast("int").alias("n"),
    ).cache()
    spec = {"steps": [
        step("mean", "impute", inputCols=["n", "f"], outputCols=["n_m", "f_m"]),
        step("tail", "impute_end_tail", inputCols=["a"], outputCols=["a_tail"]),
        step("assemble", "vector_assembler", inputCols=["n_m", "f_m", "a_tail", "id"],
             outputCol="v"),
        step("standard", "standard_scale", inputCol="v", outputCol="v_std", withMean=True),
        step("min_max", "min_max_scale", inputCol="v", outputCol="v_mm"),
    ]}
    fused, plain = _both(spec, df)
    assert (fused.fit_report.levels, fused.fit_report.passes) == (1, 1)
    assert plain.fit_report.levels == 4
    # the int column's mean is not whole: the imputed column holds it truncated
    assert fused.stages[0].surrogateDF.first()["n"] % 1 != 0


def test_derivation_is_refused_where_it_would_not_be_exact(frame):
    """missingValue -1 on a column with NaN keeps NaN in the output (the fit skipped it): the
    scaler waits for the next level; a null in a plain assembled column fails as unfused."""
    spec = {"steps": [
        step("impute", "impute", inputCols=["b", "c"], outputCols=["b_i", "c_i"],
             missingValue=-1.0),
        step("assemble", "vector_assembler", inputCols=["c_i"], outputCol="v"),
        step("scale", "standard_scale", inputCol="v", outputCol="v_std"),
        step("assemble_b", "vector_assembler", inputCols=["b_i"], outputCol="w",
             handleInvalid="keep"),
        step("scale_b", "max_abs_scale", inputCol="w", outputCol="w_s"),
    ]}
    fused, _ = _both(spec, frame)
    # c has no NaN, but its type (double) could: both scalers wait for the imputer
    assert fused.fit_report.levels == 2
    bad = {"steps": [
        step("impute", "impute", inputCols=["c"], outputCols=["c_i"]),
        step("assemble", "vector_assembler", inputCols=["c_i", "a"], outputCol="v"),
        step("scale", "standard_scale", inputCol="v", outputCol="v_std"),
    ]}
    with pytest.raises(FeatureInputError, match=r"step 'scale' \(#3.*column 'a' has 6 null"):
        build_pipeline(bad, frame).fit(frame)
    # unfused, MLlib's own fit fails in the assembler: its root cause is what the error says
    with pytest.raises(FeatureInputError, match=r"step 'scale' \(#3.*Encountered null while "
                                                r"assembling a row .* or \"skip\"\.$"):
        build_pipeline(bad, frame, fused=False).fit(frame)


def test_mllib_categorical_stages_fused_equal_their_own_fit(frame):
    spec = {"steps": [
        step("index", "string_index", inputCols=["cat5", "cat3"], outputCols=["i5", "i3"],
             handleInvalid="keep"),
        step("index_alpha", "string_index", inputCol="cat12", outputCol="i12",
             stringOrderType="alphabetDesc"),
        step("index_rare", "string_index", inputCol="cat3", outputCol="i3a",
             stringOrderType="frequencyAsc"),
        step("one_hot", "one_hot_vector_encode", inputCols=["i5", "i3", "i12"],
             outputCols=["o5", "o3", "o12"]),
    ]}
    fused, _ = _both(spec, frame)
    # one value-count shuffle for the three indexers; one-hot reads the indexers' attributes
    assert (fused.fit_report.levels, fused.fit_report.passes) == (2, 1)


def test_lakeprep_numeric_stages_fused_equal_their_own_fit(frame):
    spec = {"steps": [
        step("cap_iqr", "winsorize", inputCols=["a"], outputCols=["a_cap"], cappingMethod="iqr",
             tail="both", fold=1.5),
        step("cap_mad", "winsorize", inputCols=["c"], outputCols=["c_cap"], cappingMethod="mad",
             fold=2.0, relativeError=0.0),
        step("end_tail", "impute_end_tail", inputCols=["c"], outputCols=["c_tail"]),
        step("width", "equal_width_discretise", inputCols=["a_cap"], outputCols=["a_w"]),
        step("trim", "trim_outliers", inputCols=["b"], cappingMethod="gaussian", fold=1.0),
    ]}
    fused, _ = _both(spec, frame)
    # level 0: iqr + mad medians + end tail (1 pass), the MAD's deviations (1 pass);
    # level 1: the discretiser and the trimmer (which drops rows, so it waits for all before it)
    assert fused.fit_report.levels == 3
    assert fused.fit_report.passes == 4


def test_lakeprep_categorical_stages_fused_equal_their_own_fit(frame):
    spec = {"steps": [
        step("fill", "impute_categorical", inputCols=["cat5"], outputCols=["cat5_f"],
             strategy="frequent"),
        step("rare", "group_rare_labels", inputCols=["cat12"], outputCols=["cat12_r"], tol=0.1,
             nCategories=3, handleUnseen="keep"),
        step("count", "count_frequency_encode", inputCols=["cat3"], outputCols=["cat3_n"]),
        step("ohe", "one_hot_encode", inputCols=["cat3"]),
        step("ordinal", "ordinal_encode", inputCols=["cat12"], outputCols=["cat12_o"],
             handleUnseen="keep"),
        step("target", "target_encode", inputCols=["cat5_f"], outputCols=["cat5_te"],
             labelCol="label", folds=3, rowKeyCol="id", handleUnseen="keep"),
        step("woe", "woe_encode", inputCols=["cat3"], outputCols=["cat3_woe"], labelCol="label"),
    ]}
    fused, _ = _both(spec, frame)
    # level 0: one value-count shuffle for fill/rare/count/ohe/ordinal + WoE's labelled counts;
    # level 1: the target encoder's folds on the filled column
    assert fused.fit_report.levels == 2
    assert fused.fit_report.passes == 3


def test_selectors_fused_equal_their_own_fit(frame):
    """The vector selectors (chi-square, ANOVA F, F-regression over the slots) and the column
    selector: same slots and columns kept, same scores; a vector selector adds a column, so a
    stage reading another column does not wait for it."""
    spec = {"steps": [
        step("index", "string_index", inputCols=["cat5", "cat3", "cat12"],
             outputCols=["i5", "i3", "i12"], handleInvalid="keep"),
        step("impute", "impute", inputCols=["a", "b", "c"], outputCols=["a_i", "b_i", "c_i"]),
        step("cats", "vector_assembler", inputCols=["i5", "i3", "i12"], outputCol="cv"),
        step("nums", "vector_assembler", inputCols=["a_i", "b_i", "c_i"], outputCol="nv"),
        step("chi", "chi_sq_selector", featuresCol="cv", outputCol="cv_sel", labelCol="label",
             numTopFeatures=2),
        step("anova", "univariate_feature_selector", featuresCol="nv", outputCol="nv_cls",
             labelCol="label", featureType="continuous", labelType="categorical",
             selectionThreshold=2),
        step("regress", "univariate_feature_selector", featuresCol="nv", outputCol="nv_reg",
             labelCol="id", featureType="continuous", labelType="continuous",
             selectionMode="fpr", selectionThreshold=0.9),
        step("scale", "standard_scale", inputCol="nv_cls", outputCol="nv_std"),
        step("bins", "equal_frequency_discretise", inputCol="a_i", outputCol="a_bin",
             numBuckets=3),
        step("columns", "select_univariate", inputCols=["cat3", "b", "cat12", "c"],
             labelCol="label", k=2),
    ]}
    fused, plain = _both(spec, frame)
    report = fused.fit_report
    assert report.unfused == []
    # level 0: indexers + imputer; level 1: the three vector selectors and the discretiser
    # (which reads none of their columns); level 2: the scaler on the selected slots; level 3:
    # the column selector, which drops columns, after everything
    assert report.levels == 4 < plain.fit_report.levels
    chi, anova, regress = (fused.stages[i].selectedFeatures for i in (4, 5, 6))
    assert len(chi) == 2 and len(anova) == 2 and regress == plain.stages[6].selectedFeatures
    scores = fused.stages[-1].scores_
    assert {s["test"] for s in scores.values()} == {"chi2", "anova_f"}


def test_uncovered_stage_is_fitted_on_its_own_and_named(frame, caplog):
    spec = {"steps": [
        step("mode", "impute", strategy="mode", inputCols=["a"], outputCols=["a_mode"]),
        step("mean", "impute", inputCols=["c"], outputCols=["c_mean"]),
        step("assemble", "vector_assembler", inputCols=["a_mode", "c_mean"], outputCol="v"),
        step("robust", "robust_scale", inputCol="v", outputCol="v_r", relativeError=0.0),
    ]}
    with caplog.at_level("INFO", logger="lakeprep.features.fused"):
        fused, _ = _both(spec, frame)
    assert [u.split(" ")[2] for u in fused.fit_report.unfused] == ["'mode'", "'robust'"]
    assert "fitted on its own" in caplog.text


def test_retail_spec_fused_equals_unfused_in_fewer_levels(frame):
    """conf/base/features.yaml's pipeline on a small snapshot-shaped frame.

    (Saving and loading a fused model: test_spec's round trip, fused by default.)
    """
    features = yaml.safe_load((ROOT / "conf/base/features.yaml").read_text())["features"]
    spec = features["sets"]["customer"]["pipeline"]
    numeric = ["tenure_days", "age", "orders_count_30d", "orders_count_90d", "amount_sum_30d",
               "amount_mean_30d", "amount_max_30d", "amount_sum_90d", "amount_mean_90d",
               "amount_max_90d", "category_count_distinct_90d", "days_since_last_order",
               "events_count_30d", "days_since_last_event"]
    from pyspark.sql import functions as F
    cols = [F.col("id").alias("customer_id"), F.col("label").alias("purchased_next_30d"),
            F.col("cat5").alias("country"), F.col("cat3").alias("segment")]
    sources = ["a", "b", "c"]
    for k, name in enumerate(numeric):
        cols.append((F.nanvl(F.col(sources[k % 3]), F.lit(None)) * (k + 1)).alias(name))
    snapshot = frame.select(*cols).withColumnRenamed("customer_id", "id") \
        .withColumn("customer_id", F.col("id")).cache()
    fused, plain = _both(spec, snapshot)
    assert fused.fit_report.levels < plain.fit_report.levels
    assert fused.fit_report.passes <= plain.fit_report.passes
    assert str(fused.fit_report).startswith(f"fit: {len(spec['steps'])} stages in ")


def test_plan_levels_follows_reads_writes_and_row_droppers(spark):  # MLlib stages need a JVM
    load_operations()  # the registry's column declarations, as build_pipeline loads them
    flag = MissingIndicator(inputCols=["a"])
    cap = Winsorizer(inputCols=["a"], outputCols=["a_cap"])
    cap_inplace = Winsorizer(inputCols=["b"])  # writes b over itself
    cap_b_again = Winsorizer(inputCols=["b"], outputCols=["b2"])  # reads the capped b
    assemble = VectorAssembler(inputCols=["a_cap", "b2"], outputCol="v")
    from features.outliers import OutlierTrimmer
    trim = OutlierTrimmer(inputCols=["c"])
    stages = [flag, cap, cap_inplace, cap_b_again, assemble, trim]
    assert plan_levels(stages, _io_columns) == [0, 0, 0, 1, 2, 2]
    assert all(isinstance(s, Estimator) for s in (cap, cap_inplace, cap_b_again, trim))
    assert ALL not in {"a", "b"}


def test_only_an_input_costly_to_recompute_is_cached(spark):
    from pyspark.sql import functions as F
    scan = spark.range(20)  # a scan, as of files or a table (no job runs here)
    assert not costly_to_recompute(scan.select((F.col("id") * 2).alias("x")).where("x > 3"))
    assert costly_to_recompute(scan.groupBy(F.col("id") % 3).count())
    other = scan.withColumnRenamed("id", "j")
    assert costly_to_recompute(scan.join(other, F.col("id") == F.col("j")))
