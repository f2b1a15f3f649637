"""``deploy inference-pipeline``: the two-container Model and its endpoint or transform job;
the requests validate against botocore's SageMaker model and run against the moto server."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from lakeprep.aws import inference_pipeline as ip
from lakeprep.errors import InputError, UsageError
from lakeprep.inference.schema import SCHEMA_FILE, schema_json
from tests import moto_support

ROLE = "arn:aws:iam::123456789012:role/sagemaker-exec"
FEATURES_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/lakeprep-features:0.1.0"
XGB_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


@pytest.fixture
def pipeline_dir(tmp_path):
    """A saved pipeline folder as Spark's PipelineModel writer leaves it (an empty pipeline:
    deploy packs the folder, it does not read the stages) with its input schema."""
    folder = tmp_path / "run-1"
    (folder / "metadata").mkdir(parents=True)
    (folder / "metadata" / "part-00000").write_text(json.dumps({
        "class": "pyspark.ml.pipeline.PipelineModel", "timestamp": 0, "sparkVersion": "3.5.6",
        "uid": "PipelineModel_0", "paramMap": {"stageUids": [], "language": "Python"},
        "defaultParamMap": {}}) + "\n")
    (folder / "metadata" / "_SUCCESS").write_text("")
    (folder / "metadata" / ".part-00000.crc").write_text("crc")
    (folder / SCHEMA_FILE).write_text(schema_json([("fare_amount", "double")]))
    return folder


def request(folder, **extra) -> ip.PipelineRequest:
    given = {"feature_set": "taxi_tips", "pipeline_dir": str(folder),
             "model_data": "s3://models/xgb/model.tar.gz", "estimator_image": XGB_IMAGE,
             "features_image": FEATURES_IMAGE, "role_arn": ROLE,
             "upload_to": "s3://artefacts/inference"}
    return ip.PipelineRequest(**{**given, **extra})


def test_endpoint_requests_are_valid_and_chain_features_before_the_estimator(pipeline_dir):
    plan = ip.plan_pipeline(request(pipeline_dir))
    assert ip.validation_errors(plan) == []
    ops = [op for op, _ in plan.requests]
    assert ops == ["CreateModel", "CreateEndpointConfig", "CreateEndpoint"]
    model = plan.requests[0][1]
    features, estimator = model["Containers"]
    assert features["Image"] == FEATURES_IMAGE and features["ModelDataUrl"] == plan.model_tar_uri
    assert features["Environment"]["SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT"] == "text/csv"
    assert estimator == {"Image": XGB_IMAGE, "ModelDataUrl": "s3://models/xgb/model.tar.gz"}
    assert model["InferenceExecutionConfig"] == {"Mode": "Serial"}
    variant = plan.requests[1][1]["ProductionVariants"][0]
    assert variant["ModelName"] == model["ModelName"] == plan.requests[2][1]["EndpointName"]


def test_batch_transform_requests_are_valid(pipeline_dir):
    plan = ip.plan_pipeline(request(pipeline_dir, batch_input="s3://data/in/",
                                    batch_output="s3://data/out/"))
    assert ip.validation_errors(plan) == []
    assert [op for op, _ in plan.requests] == ["CreateModel", "CreateTransformJob"]
    job = plan.requests[1][1]
    assert job["TransformInput"]["ContentType"] == "text/csv"
    assert job["TransformInput"]["SplitType"] == "Line"


def test_the_model_data_is_the_pipeline_folder_reproducibly(pipeline_dir):
    first = ip.plan_pipeline(request(pipeline_dir))
    again = ip.plan_pipeline(request(pipeline_dir))
    assert first.model_tar == again.model_tar and first.model_tar_uri == again.model_tar_uri
    with tarfile.open(fileobj=io.BytesIO(first.model_tar)) as tar:
        assert sorted(tar.getnames()) == ["input_schema.json", "metadata/_SUCCESS",
                                          "metadata/part-00000"]


def test_a_request_botocore_rejects_is_reported(pipeline_dir):
    plan = ip.plan_pipeline(request(pipeline_dir, instance_count=0))
    problems = ip.validation_errors(plan)
    assert problems and "InitialInstanceCount" in problems[0]


def test_bad_requests_name_what_is_wrong(pipeline_dir, tmp_path):
    with pytest.raises(UsageError, match="both --batch-input and --batch-output"):
        ip.plan_pipeline(request(pipeline_dir, batch_input="s3://data/in/"))
    with pytest.raises(UsageError, match="s3://bucket/key"):
        ip.plan_pipeline(request(pipeline_dir, model_data="/local/model.tar.gz"))
    (pipeline_dir / SCHEMA_FILE).unlink()
    with pytest.raises(InputError, match="no input_schema.json"):
        ip.plan_pipeline(request(pipeline_dir))
    with pytest.raises(InputError, match="not a saved pipeline folder"):
        ip.pack_pipeline(str(tmp_path / "nothing"))


@pytest.mark.parametrize("batch", [False, True])
def test_execute_against_moto(aws, moto_endpoint, pipeline_dir, batch):
    moto_support.make_bucket(moto_endpoint, "artefacts")
    extra = {"batch_input": "s3://data/in/", "batch_output": "s3://data/out/"} if batch else {}
    plan = ip.plan_pipeline(request(pipeline_dir, **extra))
    lines = ip.execute(plan, "us-east-1")
    assert lines[0].startswith(f"uploaded {plan.model_tar_uri}")
    bucket, key = plan.model_tar_uri[5:].split("/", 1)
    assert aws("s3").get_object(Bucket=bucket, Key=key)["Body"].read() == plan.model_tar
    sm = aws("sagemaker")
    name = plan.requests[0][1]["ModelName"]
    containers = sm.describe_model(ModelName=name)["Containers"]
    assert [c["Image"] for c in containers] == [FEATURES_IMAGE, XGB_IMAGE]
    if batch:
        assert sm.describe_transform_job(TransformJobName=name)["ModelName"] == name
    else:
        assert sm.describe_endpoint(EndpointName=name)["EndpointConfigName"] == name


def cli_args(pipeline_dir, *extra):
    return ["deploy", "inference-pipeline", "--set", "taxi_tips", "--model", str(pipeline_dir),
            "--model-data", "s3://models/xgb/model.tar.gz", "--estimator-image", XGB_IMAGE,
            "--features-image", FEATURES_IMAGE, "--role", ROLE, *extra]


def test_cli_dry_run_prints_valid_requests_and_sends_none(aws, pipeline_dir, capsys,
                                                          monkeypatch):
    from jobs import cli

    monkeypatch.setenv("LAKEPREP_DEPLOY_BUCKET", "artefacts")
    assert cli.main(cli_args(pipeline_dir, "--dry-run", "--output", "json")) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["upload"]["uri"].startswith("s3://artefacts/")
    assert [r["operation"] for r in doc["requests"]] == ["CreateModel", "CreateEndpointConfig",
                                                         "CreateEndpoint"]
    assert aws("sagemaker").list_models()["Models"] == []


def test_cli_creates_the_endpoint(aws, moto_endpoint, pipeline_dir, capsys, monkeypatch):
    from jobs import cli

    monkeypatch.setenv("LAKEPREP_DEPLOY_BUCKET", "artefacts")
    moto_support.make_bucket(moto_endpoint, "artefacts")
    assert cli.main(cli_args(pipeline_dir, "--instance-type", "ml.c5.xlarge")) == 0
    sm = aws("sagemaker")
    [endpoint] = [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]]
    assert endpoint.startswith("lakeprep-taxi-tips-")
    config = sm.describe_endpoint_config(EndpointConfigName=endpoint)
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.c5.xlarge"
    assert len(sm.describe_model(ModelName=endpoint)["Containers"]) == 2
    assert "CreateEndpoint" in capsys.readouterr().out


def test_cli_names_what_is_missing(aws, pipeline_dir, capsys, monkeypatch):
    from jobs import cli

    monkeypatch.setenv("LAKEPREP_DEPLOY_BUCKET", "artefacts")
    assert cli.main(["deploy", "inference-pipeline", "--set", "taxi_tips", "--model",
                     str(pipeline_dir), "--dry-run"]) == 2
    assert "--model-data, --estimator-image, --features-image, --role" in (
        capsys.readouterr().err)


def test_another_estimator_is_another_model(pipeline_dir):
    first = ip.plan_pipeline(request(pipeline_dir)).requests[0][1]["ModelName"]
    other = ip.plan_pipeline(request(pipeline_dir, model_data="s3://models/xgb2/model.tar.gz"))
    assert other.requests[0][1]["ModelName"] != first
