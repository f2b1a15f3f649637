"""Our RecordIO-protobuf bytes equal sagemaker-spark's `sagemaker` data source output.

Needs ``pip install --no-deps sagemaker-pyspark`` and protobuf-java (Debian:
``apt-get install -y libprotobuf-java``, or point LAKEPREP_PROTOBUF_JAR at a protobuf-java jar).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("sm_spark_compat.py")
PROTOBUF_JAR = Path(os.environ.get("LAKEPREP_PROTOBUF_JAR", "/usr/share/java/protobuf.jar"))
REPO = Path(__file__).resolve().parents[3]


def _jars() -> list[str]:
    if importlib.util.find_spec("sagemaker_pyspark") is None:
        pytest.skip("sagemaker_pyspark is not installed: pip install --no-deps sagemaker-pyspark")
    if not PROTOBUF_JAR.exists():
        pytest.skip(f"protobuf-java jar not found at {PROTOBUF_JAR}: apt-get install -y "
                    f"libprotobuf-java or set LAKEPREP_PROTOBUF_JAR")
    import sagemaker_pyspark

    return [*sagemaker_pyspark.classpath_jars(), str(PROTOBUF_JAR)]


def test_recordio_bytes_match_sagemaker_spark(tmp_path):
    jars = _jars()
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "AWS_REGION": "us-east-1",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path), *jars], env=env,
                          capture_output=True, text=True, timeout=540, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["our_hex"] == result["their_hex"]
    assert len(result["our_hex"]) > 100
    assert "_SUCCESS" in result["their_files"]  # what we suppress
    assert result["our_files"] == ["part-00000-0000.pbr"]
    assert result["estimator"] == "XGBoostSageMakerEstimator"
    assert result["num_round"] == 25
    assert result["frame_columns"] == ["label", "features"]
