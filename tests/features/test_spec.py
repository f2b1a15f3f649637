import pytest
from pyspark.ml import PipelineModel

from features.errors import FeatureInputError, FeatureSpecError
from features.spec import build_pipeline, feature_names, param_names, step_names

COLUMNS = ["customer_id", "country", "amount_sum_90d", "tenure_days", "purchased_next_30d"]


def _spec(*steps):
    return {"steps": list(steps)}


ASSEMBLE = {"name": "assemble", "op": "vector_assembler",
            "params": {"inputCols": ["amount_sum_90d", "tenure_days"], "outputCol": "features"}}


@pytest.fixture
def no_jobs(spark):
    """Fails the test if the block under it ran a Spark job (checked through the job group)."""
    sc = spark.sparkContext
    sc.setJobGroup("spec-validation", "spec validation must not run jobs")
    yield
    assert sc.statusTracker().getJobIdsForGroup("spec-validation") == []
    sc.setLocalProperty("spark.jobGroup.id", None)


def test_unknown_operation_names_step_and_choices(no_jobs):
    spec = _spec({"name": "scale_it", "op": "standard_scalr", "params": {}})
    with pytest.raises(FeatureSpecError) as err:
        build_pipeline(spec, COLUMNS, source="conf/base/features.yaml")
    msg = str(err.value)
    assert msg.startswith("conf/base/features.yaml: step 'scale_it' (#1): unknown operation "
                          "'standard_scalr'; valid operations: ")
    assert "drop_constant" in msg and "vector_assembler" in msg and "column_pca" in msg


def test_unknown_parameter_lists_the_stage_params(no_jobs):
    spec = _spec({"name": "consts", "op": "drop_constant",
                  "params": {"inputCols": ["country"], "tolerance": 0.9}})
    with pytest.raises(FeatureSpecError) as err:
        build_pipeline(spec, COLUMNS, source="f.yaml")
    assert str(err.value) == (
        "f.yaml: step 'consts' (#1, op 'drop_constant'): unknown parameter(s) ['tolerance']; "
        "valid parameters of DropConstantFeatures: inputCols, missingValues, tol")


def test_former_param_name_is_refused_naming_the_new_one(no_jobs):
    # lakeprep's error/null policy of the log is not pyspark's handleInvalid (error/skip/keep)
    spec = _spec({"name": "log_amount", "op": "log1p",
                  "params": {"inputCols": ["amount_sum_90d"], "handleInvalid": "null"}},
                 {"name": "index", "op": "string_index",
                  "params": {"inputCol": "country", "outputCol": "country_idx",
                             "handleInvalid": "keep"}})
    with pytest.raises(FeatureSpecError) as err:
        build_pipeline(spec, COLUMNS, source="f.yaml")
    assert str(err.value) == (
        "f.yaml: step 'log_amount' (#1, op 'log1p'): parameter 'handleInvalid' of "
        "Log1pTransformer is called 'handleOutOfDomain' now: rename it in the spec")
    renamed = _spec({**spec["steps"][0], "params": {"inputCols": ["amount_sum_90d"],
                                                    "handleOutOfDomain": "null"}})
    assert build_pipeline(renamed, COLUMNS).getStages()[0].getHandleOutOfDomain() == "null"


def test_unknown_column_and_all_errors_together(no_jobs):
    spec = _spec(
        {"name": "pca", "op": "column_pca",
         "params": {"inputCols": ["amount_sum_90d", "amount_max_90d"], "outputCol": "pc"}},
        {"name": "bad_op", "op": "nope", "params": {"outputCol": "made"}},
        {"name": "assemble", "op": "vector_assembler",
         "params": {"inputCols": ["pc", "made", "ghost"], "outputCol": "features"}},
    )
    with pytest.raises(FeatureSpecError) as err:
        build_pipeline(spec, COLUMNS, source="f.yaml")
    lines = str(err.value).splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("f.yaml: step 'pca' (#1, op 'column_pca'): column(s) "
                               "['amount_max_90d'] not found; available at this step: "
                               "amount_sum_90d, country, customer_id")
    assert lines[1].startswith("f.yaml: step 'bad_op' (#2): unknown operation 'nope'")
    # pc and made are produced by earlier steps, only ghost is missing
    assert lines[2].startswith("f.yaml: step 'assemble' (#3, op 'vector_assembler'): column(s) "
                               "['ghost'] not found")
    assert "made, pc, purchased_next_30d" in lines[2]


def test_default_input_column_is_checked(no_jobs):
    # MLlib's featuresCol defaults to "features": it must exist
    spec = _spec({"name": "vt", "op": "variance_threshold_selector",
                  "params": {"outputCol": "selected"}})
    with pytest.raises(FeatureSpecError, match=r"column\(s\) \['features'\] not found"):
        build_pipeline(spec, COLUMNS)


def test_invalid_shape_and_values(no_jobs):
    with pytest.raises(FeatureSpecError, match="f.yaml: invalid feature spec: steps"):
        build_pipeline({"steps": []}, COLUMNS, source="f.yaml")
    dup = _spec(ASSEMBLE, ASSEMBLE)
    with pytest.raises(FeatureSpecError, match=r"repeated: \['assemble'\]"):
        build_pipeline(dup, COLUMNS)
    with pytest.raises(FeatureSpecError, match="steps.0.oops: Extra inputs"):
        build_pipeline({"steps": [{**ASSEMBLE, "oops": 1}]}, COLUMNS)
    bad_value = _spec({"name": "c", "op": "drop_constant", "params": {"tol": "high"}})
    with pytest.raises(FeatureSpecError, match="step 'c' .* invalid parameter value"):
        build_pipeline(bad_value, COLUMNS)


def test_param_names_come_from_the_class():
    from pyspark.ml.feature import VectorAssembler

    assert param_names(VectorAssembler) == ["handleInvalid", "inputCols", "outputCol"]


def test_spec_pipeline_save_load_round_trip(spark, tmp_path):
    rows = [(i, "DE" if i % 3 else "FR", float(i * 10 % 7), float(i), 1.0, i % 2)
            for i in range(30)]
    df = spark.createDataFrame(rows, "customer_id long, country string, amount_sum_90d double, "
                                     "tenure_days double, channel double, purchased_next_30d int")
    spec = _spec(
        {"name": "constants", "op": "drop_constant", "params": {"inputCols": ["channel"]}},
        {"name": "pca", "op": "column_pca",
         "params": {"inputCols": ["amount_sum_90d", "tenure_days"], "outputCol": "pc", "k": 1}},
        {"name": "assemble", "op": "vector_assembler",
         "params": {"inputCols": ["pc", "tenure_days"], "outputCol": "features"}},
    )
    assert step_names(spec) == ["constants", "pca", "assemble"]
    model = build_pipeline(spec, df, source="t.yaml").fit(df)
    out = model.transform(df)
    assert "channel" not in out.columns
    model.write().overwrite().save(str(tmp_path / "pipeline"))
    loaded = PipelineModel.load(str(tmp_path / "pipeline"))
    again = loaded.transform(df)
    assert again.columns == out.columns
    assert again.orderBy("customer_id").collect() == out.orderBy("customer_id").collect()
    assert feature_names(loaded, again) == ["pc_0", "tenure_days"]


def test_feature_names_needs_a_vector_last(spark):
    df = spark.createDataFrame([(1.0, 1.0)], "a double, b double")
    spec = _spec({"name": "c", "op": "drop_constant", "params": {"inputCols": ["a"]}})
    model = build_pipeline(spec, df).fit(df)
    with pytest.raises(FeatureSpecError, match="has no outputCol"):
        feature_names(model, model.transform(df))


def test_param_values_are_checked_when_the_spec_is_built(no_jobs):
    # one error class (FeatureSpecError, exit 2) in every family, before any Spark job,
    # each naming the step, the param, the value and the valid range
    amount = ["amount_sum_90d"]
    spec = _spec(
        {"name": "cap", "op": "winsorize", "params": {"inputCols": amount, "fold": -1}},
        {"name": "cap2", "op": "winsorize",
         "params": {"inputCols": amount, "cappingMethod": "median"}},
        {"name": "fill", "op": "impute_end_tail", "params": {"inputCols": amount, "tail": "up"}},
        {"name": "consts", "op": "drop_constant", "params": {"tol": 7.0}},
        {"name": "best", "op": "select_univariate",
         "params": {"inputCols": ["country", "tenure_days"], "labelCol": "purchased_next_30d",
                    "k": 5}},
        {"name": "pca", "op": "column_pca",
         "params": {"inputCols": amount, "outputCol": "pc", "k": 3}},
        {"name": "bins", "op": "equal_frequency_discretise",
         "params": {"inputCol": "tenure_days", "outputCol": "tb", "numBuckets": 1}},
        {"name": "cyc", "op": "cyclical_features",
         "params": {"inputCols": ["tenure_days"], "maxValues": {"tenure_days": -24}}},
    )
    with pytest.raises(FeatureSpecError) as err:
        build_pipeline(spec, COLUMNS, source="f.yaml")
    assert err.value.exit_code == 2
    lines = str(err.value).splitlines()
    assert lines == [
        "f.yaml: step 'cap' (#1, op 'winsorize'): Winsorizer: fold must be in (0.0, inf), "
        "got -1.0",
        "f.yaml: step 'cap2' (#2, op 'winsorize'): Winsorizer: cappingMethod must be one of "
        "['gaussian', 'iqr', 'quantiles', 'mad'], got 'median'",
        "f.yaml: step 'fill' (#3, op 'impute_end_tail'): EndTailImputer: tail must be one of "
        "['right', 'left'], got 'up'",
        "f.yaml: step 'consts' (#4, op 'drop_constant'): DropConstantFeatures: tol must be in "
        "(0.0, 1.0], got 7.0",
        "f.yaml: step 'best' (#5, op 'select_univariate'): UnivariateSelector: k (at most the "
        "2 inputCols) must be in [0, 2], got 5",
        "f.yaml: step 'pca' (#6, op 'column_pca'): ColumnPCA: k (at most the 1 inputCols) must "
        "be in [1, 1], got 3",
        lines[6],
        "f.yaml: step 'cyc' (#8, op 'cyclical_features'): CyclicalFeatures: "
        "maxValues['tenure_days'] (the period) must be in (0.0, inf), got -24",
    ]
    # MLlib's own validators run in the JVM setters, still before any job
    assert lines[6].startswith("f.yaml: step 'bins' (#7, op 'equal_frequency_discretise'): "
                               "invalid parameter value: ")
    assert "numBuckets" in lines[6]


def test_fit_errors_name_the_step(spark):
    df = spark.createDataFrame([(1, None), (2, None)], "customer_id long, amount double")
    spec = _spec({"name": "cap", "op": "winsorize", "params": {"inputCols": ["amount"]}})
    with pytest.raises(FeatureInputError) as err:
        build_pipeline(spec, df, source="f.yaml").fit(df)
    assert str(err.value).startswith("f.yaml: step 'cap' (#1, op 'winsorize'): Winsorizer: "
                                     "column(s) ['amount'] have no finite value")
    assert err.value.exit_code == 3
