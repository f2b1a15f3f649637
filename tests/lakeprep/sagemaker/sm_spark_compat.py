"""Run in a subprocess: write the same rows with sagemaker-spark and with lakeprep; print JSON.

It needs its own SparkSession (sagemaker-spark's jars and protobuf-java on the classpath), which
is why the test starts it as a separate process. Usage: python sm_spark_compat.py OUT_DIR JAR...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pyspark.ml.linalg import Vectors, VectorUDT
from pyspark.sql import SparkSession
from pyspark.sql.types import DoubleType, StructField, StructType

# Payloads of 52, 51 and 37 bytes: no padding, 1 and 3 padding bytes.
ROWS = [
    (1.0, Vectors.dense([0.5, 0.0, -2.25, 1e-7])),
    (0.0, Vectors.sparse(4, [1, 3], [3.5, -1.0])),
    (1.0, Vectors.dense([1 / 3, 2 / 3, 1e20, -0.0])),
    (0.0, Vectors.sparse(4, [], [])),
    (2.0, Vectors.sparse(4, [0, 2], [0.1, 123456789.0])),
]


def main(out: Path, jars: list[str]) -> dict:
    spark = (SparkSession.builder.master("local[1]").appName("sagemaker-spark-compat")
             .config("spark.jars", ",".join(jars)).config("spark.ui.enabled", "false")
             .getOrCreate())
    from lakeprep.sagemaker import write_channel
    from lakeprep.sagemaker.estimators import sagemaker_pyspark_estimator, training_frame

    schema = StructType([StructField("label", DoubleType()), StructField("features", VectorUDT())])
    df = spark.createDataFrame(ROWS, schema).coalesce(1)
    theirs, ours = out / "sagemaker-spark", out / "lakeprep"
    df.write.format("sagemaker").option("labelColumnName", "label") \
        .option("featuresColumnName", "features").save(str(theirs))
    write_channel(df, str(ours), "recordio-protobuf")
    their_parts = sorted(p for p in theirs.iterdir()
                         if not p.name.startswith((".", "_")) and p.stat().st_size)
    our_parts = sorted(ours.iterdir())
    result = {
        "their_files": [p.name for p in sorted(theirs.iterdir())],
        "our_files": [p.name for p in our_parts],
        "their_hex": b"".join(p.read_bytes() for p in their_parts).hex(),
        "our_hex": b"".join(p.read_bytes() for p in our_parts).hex(),
    }
    estimator = sagemaker_pyspark_estimator(
        "xgboost", role="arn:aws:iam::123456789012:role/sagemaker",
        training_instance_type="ml.m5.xlarge", hyperparameters={"num_round": 25},
        region="us-east-1")
    result["estimator"] = type(estimator).__name__
    result["num_round"] = estimator.getOrDefault(estimator.getParam("num_round"))
    result["frame_columns"] = training_frame(df).columns
    spark.stop()
    return result


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), sys.argv[2:])))
