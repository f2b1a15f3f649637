"""``lakeprep deploy inference-pipeline``: the fitted features in front of the estimator.

A SageMaker Inference Pipeline is one Model with two containers called in series: lakeprep's
serving image (``lakeprep serve``, raw records in, the feature vector out as CSV) and the
estimator's image (XGBoost, Linear Learner... reads that CSV). The pipeline folder is packed as
the first container's model data (``model.tar.gz``, unpacked by SageMaker into
/opt/ml/model); then an endpoint config and endpoint, or a batch transform job.

The requests are built here and sent with boto3, so a dry run prints exactly what would be
sent and a test validates it against botocore's service model (the SageMaker SDK v2's
``PipelineModel`` needs a live session to build the same requests).

For example, ``[op for op, _ in plan_pipeline(request).requests]`` is ``['CreateModel',
'CreateEndpointConfig', 'CreateEndpoint']`` (``['CreateModel', 'CreateTransformJob']`` with a
batch input).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tarfile
from dataclasses import asdict, dataclass, field
from typing import Any

from lakeprep.aws.clients import client, split_s3
from lakeprep.errors import InputError, UsageError

log = logging.getLogger(__name__)
CSV = "text/csv"


@dataclass(frozen=True)
class PipelineRequest:
    """What the user asks for: the feature set's model folder and the estimator to follow it."""

    feature_set: str
    pipeline_dir: str  # the saved pipeline folder (local), with input_schema.json
    model_data: str  # the estimator's model.tar.gz (s3://)
    estimator_image: str
    features_image: str
    role_arn: str
    upload_to: str  # s3:// prefix for the packed pipeline
    instance_type: str = "ml.m5.large"
    instance_count: int = 1
    output_column: str = "features"
    batch_input: str | None = None  # s3:// prefix: a batch transform job instead of an endpoint
    batch_output: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class PipelinePlan:
    """The packed model data (bytes and where it goes) and the SageMaker requests, in order."""

    model_tar: bytes
    model_tar_uri: str
    requests: list[tuple[str, dict[str, Any]]]

    def as_json(self) -> dict[str, Any]:
        return {"upload": {"uri": self.model_tar_uri, "bytes": len(self.model_tar)},
                "requests": [{"operation": op, "params": p} for op, p in self.requests]}


def pack_pipeline(folder: str) -> bytes:
    """The pipeline folder as ``model.tar.gz`` bytes (its files at the archive's root),
    reproducible: sorted names, fixed times and owners, so its hash names the model."""
    if not os.path.isdir(folder) or not os.path.isdir(os.path.join(folder, "metadata")):
        raise InputError(f"{folder}: not a saved pipeline folder (no metadata/)")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=6) as tar:
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            for name in sorted(files):
                if name.endswith(".crc"):
                    continue
                path = os.path.join(root, name)
                info = tar.gettarinfo(path, arcname=os.path.relpath(path, folder))
                info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                with open(path, "rb") as f:
                    tar.addfile(info, f)
    return buf.getvalue()


def plan_pipeline(req: PipelineRequest) -> PipelinePlan:
    """The requests that create the two-container Model and its endpoint or transform job."""
    for uri in (req.model_data, req.upload_to):
        split_s3(uri)
    if bool(req.batch_input) != bool(req.batch_output):
        raise UsageError("a batch transform needs both --batch-input and --batch-output")
    if not os.path.isfile(os.path.join(req.pipeline_dir, "input_schema.json")):
        raise InputError(f"{req.pipeline_dir}: no input_schema.json beside the pipeline; "
                         f"rebuild the feature set (build-features writes it) so the container "
                         f"can read CSV")
    tar = pack_pipeline(req.pipeline_dir)
    # the names are those of this pipeline with this estimator on these instances: deploying
    # another combination creates new resources, redeploying the same one names the same
    asked = {k: v for k, v in asdict(req).items() if k != "pipeline_dir"}
    digest = hashlib.sha256(tar + json.dumps(asked, sort_keys=True).encode()).hexdigest()[:10]
    base = f"lakeprep-{req.feature_set}-{digest}".replace("_", "-")[:63]
    tar_uri = f"{req.upload_to.rstrip('/')}/{req.feature_set}/{digest}/model.tar.gz"
    tags = [{"Key": k, "Value": v} for k, v in sorted(
        {"lakeprep:feature-set": req.feature_set, **req.tags}.items())]
    features = {"Image": req.features_image, "ModelDataUrl": tar_uri,
                "Environment": {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": CSV,
                                "LAKEPREP_OUTPUT_COLUMN": req.output_column}}
    estimator = {"Image": req.estimator_image, "ModelDataUrl": req.model_data}
    requests: list[tuple[str, dict[str, Any]]] = [("CreateModel", {
        "ModelName": base, "Containers": [features, estimator],
        "InferenceExecutionConfig": {"Mode": "Serial"},
        "ExecutionRoleArn": req.role_arn, "Tags": tags})]
    if req.batch_input:
        assert req.batch_output is not None
        requests.append(("CreateTransformJob", {
            "TransformJobName": base, "ModelName": base,
            "TransformInput": {"DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix", "S3Uri": req.batch_input}},
                "ContentType": CSV, "SplitType": "Line"},
            "TransformOutput": {"S3OutputPath": req.batch_output, "Accept": CSV,
                                "AssembleWith": "Line"},
            "TransformResources": {"InstanceType": req.instance_type,
                                   "InstanceCount": req.instance_count},
            "Tags": tags}))
    else:
        requests += [
            ("CreateEndpointConfig", {
                "EndpointConfigName": base, "Tags": tags,
                "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": base,
                                        "InitialInstanceCount": req.instance_count,
                                        "InstanceType": req.instance_type}]}),
            ("CreateEndpoint", {"EndpointName": base, "EndpointConfigName": base,
                                "Tags": tags}),
        ]
    return PipelinePlan(tar, tar_uri, requests)


def validation_errors(plan: PipelinePlan) -> list[str]:
    """Every request checked against botocore's SageMaker service model (empty when valid)."""
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("sagemaker")
    problems = []
    for op, params in plan.requests:
        report = ParamValidator().validate(params, model.operation_model(op).input_shape)
        if report.has_errors():
            problems.append(f"{op}: {report.generate_report()}")
    return problems


def _snake(op: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in op).lstrip("_")


def execute(plan: PipelinePlan, region: str | None = None) -> list[str]:
    """Upload the packed pipeline and send the requests; one line per thing created."""
    problems = validation_errors(plan)
    if problems:
        raise UsageError("; ".join(problems))
    bucket, key = split_s3(plan.model_tar_uri)
    client("s3", region).put_object(Bucket=bucket, Key=key, Body=plan.model_tar)
    done = [f"uploaded {plan.model_tar_uri} ({len(plan.model_tar):,} bytes)"]
    sagemaker = client("sagemaker", region)
    for op, params in plan.requests:
        answer = getattr(sagemaker, _snake(op))(**params)
        arn = next((v for k, v in answer.items() if k.endswith("Arn")), "")
        done.append(f"{op}: {arn}")
        log.info("%s %s", op, arn)
    return done


def dumps(plan: PipelinePlan) -> str:
    """The dry run's document (the requests as JSON)."""
    return json.dumps(plan.as_json(), indent=1)
