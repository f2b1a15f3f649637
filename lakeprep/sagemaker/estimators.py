"""Wire exported channels to SageMaker: SDK ``TrainingInput``s and sagemaker-pyspark estimators.

Both SDKs are optional and imported only when called: ``pip install lakeprep[sagemaker]`` for
the SageMaker Python SDK; sagemaker-pyspark ships on EMR (locally: ``pip install --no-deps
sagemaker-pyspark`` plus protobuf-java on the classpath).

Example::

    manifest = read_manifest("s3://bucket/exports/run-7")
    inputs = training_inputs(manifest, "recordio-protobuf")
    estimator.fit(inputs)
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakeprep.errors import UsageError
from lakeprep.sagemaker.checks import require_channel_columns
from lakeprep.sagemaker.manifest import Manifest

# Algorithm name -> sagemaker_pyspark class; the training data format each uses is its own.
PYSPARK_ESTIMATORS: dict[str, str] = {
    "xgboost": "XGBoostSageMakerEstimator",
    "linear-learner-binary": "LinearLearnerBinaryClassifier",
    "linear-learner-multiclass": "LinearLearnerMultiClassClassifier",
    "linear-learner-regressor": "LinearLearnerRegressor",
    "factorization-machines-binary": "FactorizationMachinesBinaryClassifier",
    "factorization-machines-regressor": "FactorizationMachinesRegressor",
    "kmeans": "KMeansSageMakerEstimator",
    "pca": "PCASageMakerEstimator",
    "lda": "LDASageMakerEstimator",
}
_URI_SCHEMES = ("s3://", "file://")  # file:// is what SageMaker local mode reads


def training_input_kwargs(manifest: Manifest, fmt: str, *,
                          channels: Sequence[str] | None = None, input_mode: str = "File",
                          distribution: str = "FullyReplicated") -> dict[str, dict[str, Any]]:
    """Keyword arguments for one ``TrainingInput`` per channel, from the manifest.

    Example::

        training_input_kwargs(m, "csv")["train"]["content_type"]
        # -> 'text/csv'
    """
    if input_mode not in ("File", "Pipe", "FastFile"):
        raise UsageError(f"input_mode must be File, Pipe or FastFile, found {input_mode!r}")
    if distribution not in ("FullyReplicated", "ShardedByS3Key"):
        raise UsageError(f"distribution must be FullyReplicated or ShardedByS3Key, "
                         f"found {distribution!r}")
    names = list(channels) if channels is not None else list(manifest.channels)
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        formats = manifest.channels.get(name)
        if formats is None:
            raise UsageError(f"manifest {manifest.run_id}: no channel {name!r}; "
                             f"it has {sorted(manifest.channels)}")
        files = formats.get(fmt)
        if files is None:
            raise UsageError(f"manifest {manifest.run_id}: channel {name!r} was not written as "
                             f"{fmt!r}; it has {sorted(formats)}")
        if not files.uri.startswith(_URI_SCHEMES):
            raise UsageError(f"channel {name!r} ({fmt}) is at {files.uri}; SageMaker reads "
                             f"s3:// (or file:// in local mode): export to S3 or upload it")
        out[name] = {"s3_data": files.uri.rstrip("/") + "/", "content_type": files.content_type,
                     "distribution": distribution, "input_mode": input_mode,
                     "s3_data_type": "S3Prefix"}
    return out


def _import(module: str, extra: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise UsageError(f"the optional package for {module!r} is not installed ({exc}); "
                         f"{extra}") from exc


def training_inputs(manifest: Manifest, fmt: str, **kwargs: Any) -> dict[str, Any]:
    """One ``sagemaker.inputs.TrainingInput`` per channel, ready for ``Estimator.fit``."""
    inputs = _import("sagemaker.inputs", "pip install lakeprep[sagemaker]")
    return {name: inputs.TrainingInput(**kw)
            for name, kw in training_input_kwargs(manifest, fmt, **kwargs).items()}


def training_frame(df: DataFrame, features_col: str = "features",
                   label_col: str = "label") -> DataFrame:
    """``(label double, features vector)`` as sagemaker-pyspark's writers expect.

    Spark's ``libsvm`` source (what its XGBoost estimator writes) wants exactly these two
    columns in this order; the ``sagemaker`` source reads them by name.
    """
    require_channel_columns(df, features_col, label_col)
    return df.select(F.col(label_col).cast("double").alias("label"),
                     F.col(features_col).alias("features"))


def sagemaker_pyspark_estimator(algorithm: str, *, role: str, training_instance_type: str,
                                training_instance_count: int = 1,
                                endpoint_instance_type: str | None = None,
                                endpoint_initial_instance_count: int = 1,
                                hyperparameters: Mapping[str, Any] | None = None,
                                **kwargs: Any) -> Any:
    """Build a sagemaker-pyspark estimator that trains on `training_frame` output.

    ``hyperparameters`` are the algorithm's Param names (``num_round``, ``feature_dim``, ...);
    ``kwargs`` go to the estimator as they are. Needs a SparkSession whose classpath holds
    ``sagemaker_pyspark.classpath_jars()`` and protobuf-java (EMR has both).

    Example::

        est = sagemaker_pyspark_estimator("xgboost", role="arn:aws:iam::1:role/sm",
            training_instance_type="ml.m5.xlarge", hyperparameters={"num_round": 50})
        model = est.fit(training_frame(train_df))
    """
    if algorithm not in PYSPARK_ESTIMATORS:
        raise UsageError(f"unknown sagemaker-pyspark algorithm {algorithm!r}; expected one of "
                         f"{sorted(PYSPARK_ESTIMATORS)}")
    extra = "on EMR it is preinstalled; locally: pip install --no-deps sagemaker-pyspark"
    algorithms = _import("sagemaker_pyspark.algorithms", extra)
    iam = _import("sagemaker_pyspark", extra)
    estimator = getattr(algorithms, PYSPARK_ESTIMATORS[algorithm])(
        trainingInstanceType=training_instance_type,
        trainingInstanceCount=training_instance_count,
        endpointInstanceType=endpoint_instance_type or training_instance_type,
        endpointInitialInstanceCount=endpoint_initial_instance_count,
        sagemakerRole=iam.IAMRole(role), **kwargs)
    for name, value in (hyperparameters or {}).items():
        if not estimator.hasParam(name):
            raise UsageError(f"{PYSPARK_ESTIMATORS[algorithm]} has no hyperparameter {name!r}")
        estimator.set(estimator.getParam(name), value)
    return estimator
