"""Loading a model folder: every stage supported or refused by name; a folder that is not
whole, or from another lakeprep version, is a one-line error naming the folder and the stage."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pyspark.ml import Pipeline
from pyspark.ml.feature import StringIndexer

from features.creation import LagFeatures
from features.imputation import MissingIndicator
from lakeprep.errors import InputError, RecordError, UnsupportedAtInference
from lakeprep.inference import load
from lakeprep.inference.schema import SCHEMA_FILE, schema_json


@pytest.fixture(scope="module")
def saved(spark, tmp_path_factory) -> Path:
    df = spark.createDataFrame([("a", 1.0), ("b", None), ("a", 3.0)], "cat string, x double")
    model = Pipeline(stages=[MissingIndicator(inputCols=["x"]),
                             StringIndexer(inputCol="cat", outputCol="cat_idx")]).fit(df)
    folder = tmp_path_factory.mktemp("models") / "run"
    model.save(str(folder))
    (folder / SCHEMA_FILE).write_text(schema_json([("cat", "string"), ("x", "double")]))
    return folder


@pytest.fixture
def copy(saved, tmp_path) -> Path:
    return Path(shutil.copytree(saved, tmp_path / "run"))


def stage_folder(folder: Path, cls: str) -> Path:
    return next(p for p in (folder / "stages").iterdir() if cls in p.name)


def test_a_whole_folder_loads_and_transforms(saved):
    out = load(str(saved)).transform([{"cat": "a", "x": None}, {"cat": "b", "x": 2.0}])
    assert out["x_na"].tolist() == [1, 0]
    assert out["cat_idx"].tolist() == [0.0, 1.0]


def test_missing_model_data_names_folder_and_stage(copy):
    folder = stage_folder(copy, "StringIndexer")
    shutil.rmtree(folder / "data")
    with pytest.raises(InputError, match=f"{folder}: stage StringIndexer_\\w+ "
                                         f"\\(org.apache.spark.ml.feature.StringIndexerModel\\)"
                                         f" has no model data"):
        load(str(copy))


def test_missing_stage_folder_names_it(copy):
    shutil.rmtree(stage_folder(copy, "MissingIndicator"))
    with pytest.raises(InputError, match=f"{copy}: stage 0 \\(MissingIndicator_\\w+\\) has no "
                                         f"folder under stages/"):
        load(str(copy))


def test_a_stage_of_another_lakeprep_version_is_refused_by_name(copy):
    meta = stage_folder(copy, "MissingIndicator") / "metadata" / "part-00000"
    doc = json.loads(meta.read_text())
    doc["class"] = "features.imputation.indicators.MissingIndicatorV2"
    meta.write_text(json.dumps(doc))
    with pytest.raises(UnsupportedAtInference,
                       match="stage MissingIndicator_\\w+ \\(features.imputation.indicators."
                             "MissingIndicatorV2\\) is not supported at inference"):
        load(str(copy))


def test_an_op_that_needs_history_is_refused_with_the_reason(spark, tmp_path):
    df = spark.createDataFrame([("c1", 1, 2.0)], "id string, t int, x double")
    model = Pipeline(stages=[LagFeatures(inputCols=["x"], entityCol="id", orderCol="t")]).fit(df)
    model.save(str(tmp_path / "lag"))
    with pytest.raises(UnsupportedAtInference, match="LagFeatures_\\w+ \\(LagFeatures\\) is not "
                                                     "supported at inference: needs the rows"):
        load(str(tmp_path / "lag"))


def test_not_a_model_folder(tmp_path):
    with pytest.raises(InputError, match="no such model folder"):
        load(str(tmp_path / "nothing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no metadata/part-00000"):
        load(str(tmp_path / "empty"))


def test_records_missing_a_column_or_of_the_wrong_type(saved):
    pipe = load(str(saved))
    with pytest.raises(RecordError, match="lack column\\(s\\) \\['x'\\]") as err:
        pipe.transform([{"cat": "a"}])
    assert err.value.column == "x"
    with pytest.raises(RecordError, match="record 1: column 'x' has 'two', not a double") as err:
        pipe.transform([{"cat": "a", "x": 1.0}, {"cat": "b", "x": "two"}])
    assert (err.value.record, err.value.column) == (1, "x")


def test_unseen_label_under_error_names_record_and_column(saved):
    with pytest.raises(RecordError, match="record 1: column 'cat': has unseen label 'zz'"):
        load(str(saved)).transform([{"cat": "a", "x": 1.0}, {"cat": "zz", "x": 1.0}])
