"""Fitted models persist as MLlib's do (Params in metadata/, fitted rows as Parquet in data/), and
folders saved in the former layout (fitted values as JSON Params, no data/) still load."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.util import DefaultParamsReader

from features.creation import CyclicalFeatures
from features.discretisation import EqualWidthDiscretiser
from features.encoding import (
    CountFrequencyEncoder,
    OneHotEncoder,
    OrdinalEncoder,
    RareLabelEncoder,
    TargetEncoder,
    WoEEncoder,
)
from features.extraction import ColumnPCA
from features.imputation import CategoricalImputer, EndTailImputer
from features.outliers import OutlierTrimmer, Winsorizer
from features.persistence import FittedModel
from features.reference import fitted_model_class, load_operations
from features.selection import (
    DropConstantFeatures,
    DropCorrelatedFeatures,
    DropDuplicateFeatures,
    DropLowVariance,
    DropUnstableFeatures,
    SelectByImportance,
    UnivariateSelector,
)
from features.transformation import LogTransformer, PowerTransformer

FORMER = Path(__file__).parent / "data" / "legacy_models"  # saved by the released version
ARROW_TYPES = {"STRING": pa.string(), "DOUBLE": pa.float64(), "INT": pa.int32(),
               "BIGINT": pa.int64(), "ARRAY<STRING>": pa.list_(pa.string()),
               "ARRAY<DOUBLE>": pa.list_(pa.float64()), "ARRAY<INT>": pa.list_(pa.int32()),
               "ARRAY<BIGINT>": pa.list_(pa.int64())}


@pytest.fixture(scope="module")
def sample():
    """The rows the former-layout models were fitted on, and their expected outputs."""
    data = json.loads((FORMER / "input.json").read_text())
    expected = json.loads((FORMER / "expected.json").read_text())
    return data, expected


@pytest.fixture(scope="module")
def df(spark, sample):
    data, _ = sample
    rows = [{**r, "day": dt.date.fromisoformat(r["day"])} for r in data["rows"]]
    return spark.createDataFrame(rows, data["schema"]).cache()


def plain(row) -> dict:
    """A Row as JSON values: vectors as lists, dates as ISO strings."""
    return {k: v.toArray().tolist() if hasattr(v, "toArray") else
            v.isoformat() if isinstance(v, dt.date) else v for k, v in row.asDict().items()}


def assert_same_rows(got: list[dict], expected: list[dict], rel: float = 0.0) -> None:
    """Equal rows (NaN equal to NaN); with ``rel``, numbers within that relative tolerance."""
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected, strict=True)):
        for k, v in e.items():
            if isinstance(v, float | list) and rel:
                assert g[k] == pytest.approx(v, rel=rel, nan_ok=True), f"row {i} column {k}"
            else:
                both_nan = isinstance(v, float) and math.isnan(v) and math.isnan(g[k])
                assert both_nan or g[k] == v, f"row {i} column {k}: {g[k]!r} != {v!r}"


def every_model_pipeline() -> Pipeline:
    """A stage of every fitted model class with per-column or per-category data."""
    return Pipeline(stages=[
        EndTailImputer(inputCols=["amount"], outputCols=["amount_filled"], imputationMethod="iqr"),
        CategoricalImputer(inputCols=["segment"], outputCols=["segment_filled"],
                           strategy="frequent"),
        Winsorizer(inputCols=["amount_filled", "tenure"], outputCols=["amount_w", "tenure_w"],
                   cappingMethod="quantiles", tail="both", fold=0.05, relativeError=0.0),
        OutlierTrimmer(inputCols=["tenure"], cappingMethod="iqr", fold=3.0),
        LogTransformer(inputCols=["tenure_w"], outputCols=["tenure_log"], offset=-50.0,
                       handleOutOfDomain="null"),
        PowerTransformer(inputCols=["tenure"], outputCols=["tenure_yj"], standardize=True),
        EqualWidthDiscretiser(inputCols=["tenure"], outputCols=["tenure_bin"], bins=4),
        CyclicalFeatures(inputCols=["hour", "tenure"], maxValues={"hour": 24.0}),
        RareLabelEncoder(inputCols=["country"], outputCols=["country_grp"], tol=0.15,
                         nCategories=2, handleUnseen="keep"),
        OneHotEncoder(inputCols=["segment"], dropLast=True, handleUnseen="keep"),
        OrdinalEncoder(inputCols=["country"], outputCols=["country_ord"],
                       encodingMethod="ordered", labelCol="y", handleUnseen="keep"),
        CountFrequencyEncoder(inputCols=["country", "segment"],
                              outputCols=["country_freq", "segment_count"],
                              encodingMethod="frequency", handleUnseen="null"),
        TargetEncoder(inputCols=["country"], outputCols=["country_te"], labelCol="y",
                      rowKeyCol="id", folds=3, smoothing=1.0, handleUnseen="keep"),
        WoEEncoder(inputCols=["segment_filled"], outputCols=["segment_woe"], labelCol="y",
                   handleUnseen="keep"),
        ColumnPCA(inputCols=["tenure", "hour", "flag"], outputCol="pca", k=2),
    ])


SELECTORS = {
    "drop_constant": DropConstantFeatures(inputCols=["flag", "tenure", "hour"], tol=0.9),
    "drop_duplicates": DropDuplicateFeatures(inputCols=["tenure", "hour", "tenure_copy"]),
    "drop_correlated": DropCorrelatedFeatures(inputCols=["tenure", "tenure_copy", "hour"],
                                              threshold=0.7),
    "drop_low_variance": DropLowVariance(inputCols=["flag", "tenure", "hour"], threshold=0.1),
    "univariate": UnivariateSelector(inputCols=["country", "segment", "tenure", "hour"],
                                     labelCol="y", k=2),
    "importance": SelectByImportance(inputCols=["tenure", "hour", "flag"], labelCol="y", k=1,
                                     numTrees=5, seed=3),
    "drop_unstable": DropUnstableFeatures(inputCols=["tenure", "hour", "country"],
                                          splitCol="day", cutOff="2024-01-24", bins=4,
                                          threshold=0.03),
}


def schema_fields(ddl: str) -> list[tuple[str, str]]:
    """(name, TYPE) of each field of a DATA_SCHEMA (no nested commas in ours)."""
    return [tuple(f.split(" ", 1)) for f in ddl.split(", ")]  # type: ignore[misc]


def test_models_save_fitted_rows_as_parquet_that_pyarrow_reads(df, sample, tmp_path):
    _, expected = sample
    model = every_model_pipeline().fit(df)
    model.write().save(str(tmp_path / "model"))
    fitted = [s for s in model.stages if isinstance(s, FittedModel)]
    assert len(fitted) == 14
    for stage in model.stages:
        folder, = (tmp_path / "model" / "stages").glob(f"*_{stage.uid}")
        metadata = json.loads((folder / "metadata" / "part-00000").read_text())
        if not isinstance(stage, FittedModel):
            assert not (folder / "data").exists() and "dataSchema" not in metadata
            continue
        # what the fitted values were called as Params is gone from the metadata
        params = {**metadata["paramMap"], **metadata["defaultParamMap"]}
        assert not set(params) & set(type(stage).FORMER_PARAMS) - {p.name for p in stage.params}
        assert metadata["dataSchema"] == type(stage).DATA_SCHEMA
        table = pq.read_table(folder / "data")  # no Spark: what lakeprep.inference does
        assert [(f.name, f.type) for f in table.schema] == [
            (name, ARROW_TYPES[kind]) for name, kind in schema_fields(stage.DATA_SCHEMA)]
        assert table.to_pylist() == stage.data_rows, type(stage).__name__
    loaded = PipelineModel.load(str(tmp_path / "model"))
    for before, after in zip(model.stages, loaded.stages, strict=True):
        if isinstance(before, FittedModel):
            assert after.data_rows == before.data_rows
    assert loaded.stages[12].prior_ == model.stages[12].prior_ > 0
    got = [plain(r) for r in loaded.transform(df).orderBy("id").collect()]
    assert_same_rows(got, [plain(r) for r in model.transform(df).orderBy("id").collect()])
    # and what the former version fitted, up to the order of Spark's sums (standardize)
    assert_same_rows(got, expected["pipeline_model"], rel=1e-12)


def test_every_model_documents_its_data_schema():
    models = {fitted_model_class(cls) for cls in load_operations().values()} - {None}
    assert len(models) == 21
    for model in models:
        assert model is not None
        docs = " ".join(" ".join((c.__doc__ or "").split()) for c in model.__mro__
                        if issubclass(c, FittedModel))
        for name, kind in schema_fields(model.DATA_SCHEMA):
            assert re.search(rf"\b{name} {re.escape(kind)}(?![\w<])", docs), (model.__name__, name)


def test_a_pipeline_model_saved_in_the_former_layout_loads_and_transforms_alike(df, sample):
    _, expected = sample
    model = PipelineModel.load(str(FORMER / "pipeline_model"))
    assert not list((FORMER / "pipeline_model").rglob("data"))
    got = [plain(r) for r in model.transform(df).orderBy("id").collect()]
    assert_same_rows(got, expected["pipeline_model"])
    log = model.stages[4]
    assert log.getHandleOutOfDomain() == "null"  # saved as handleInvalid, its former name
    assert not log.hasParam("handleInvalid")


@pytest.mark.parametrize("name", sorted(SELECTORS))
def test_selectors_saved_in_the_former_layout_load_with_their_report(spark, df, sample, name,
                                                                     tmp_path):
    _, expected = sample
    model = DefaultParamsReader.loadParamsInstance(str(FORMER / name), spark.sparkContext)
    assert repr(model.dropped_) == expected["selectors"][name]["dropped"]
    assert model.transform(df).columns == expected["selectors"][name]["columns"]
    refit = SELECTORS[name].fit(df)  # the same fit today drops the same columns
    assert refit.features_to_drop_ == model.features_to_drop_
    model.write().save(str(tmp_path / "again"))  # and saves in the current layout
    again = type(model).load(str(tmp_path / "again"))
    assert repr(again.dropped_) == repr(model.dropped_) and again.data_rows == model.data_rows


def test_a_pipeline_of_estimators_saved_in_the_former_layout_loads_and_fits(df, sample):
    _, expected = sample
    pipeline = Pipeline.load(str(FORMER / "pipeline"))
    got = [plain(r) for r in pipeline.fit(df).transform(df).orderBy("id").collect()]
    assert_same_rows(got, expected["pipeline_model"], rel=1e-12)
