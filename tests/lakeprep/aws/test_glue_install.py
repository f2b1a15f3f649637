"""What Glue's pip does with the wheel `deploy glue` sends (``--additional-python-modules``, no
installer option): resolved offline, with pip's own resolver, against this environment."""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
import sys

import pytest

from lakeprep.aws.package import build_wheel, source_root

SPARK = {"pyspark", "delta-spark", "py4j"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    return build_wheel(source_root(), tmp_path_factory.mktemp("wheel"))


def resolve(requirement: str, folder) -> tuple[set[str], set[str]]:
    """``pip install --dry-run --no-index --report`` of ``requirement`` here: (what pip would
    install, what it found already installed), every name normalised."""
    report = folder / "report.json"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--no-index",
                           "--disable-pip-version-check", "--report", str(report), requirement],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr  # offline: every requirement is installed here
    install = {i["metadata"]["name"] for i in json.loads(report.read_text())["install"]}
    satisfied = set(re.findall(r"^Requirement already satisfied: ([A-Za-z0-9_.\-]+)",
                               done.stdout, re.MULTILINE))

    def norm(names: set[str]) -> set[str]:
        return {re.sub(r"[-_.]+", "-", n).lower() for n in names}

    return norm(install), norm(satisfied)


def test_pip_installing_the_glue_wheel_pulls_in_no_spark(wheel, tmp_path):
    # Spark is installed here (the `spark` extra): a requirement on it, direct or through any
    # dependency, would be resolved to it and show among what pip found
    assert importlib.metadata.version("pyspark") and importlib.metadata.version("delta-spark")
    install, satisfied = resolve(str(wheel), tmp_path)
    assert install == {"lakeprep"}
    assert {"great-expectations", "deltalake", "boto3", "pyarrow"} <= satisfied
    assert not (install | satisfied) & SPARK, (install | satisfied) & SPARK
    # the same resolution with the spark extra does reach them: the check can see Spark
    _, with_spark = resolve(f"{wheel}[spark]", tmp_path)
    assert {"pyspark", "delta-spark", "py4j"} <= with_spark
