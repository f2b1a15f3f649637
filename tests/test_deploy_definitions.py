"""The EMR and Glue definitions point at entrypoints that exist and run a job."""

from __future__ import annotations

import ast
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_emr_steps_submit_existing_job_scripts():
    steps = json.loads((REPO / "emr/steps.json").read_text())
    assert steps
    for step in steps:
        args = step["HadoopJarStep"]["Args"]
        assert step["HadoopJarStep"]["Jar"] == "command-runner.jar" and args[0] == "spark-submit"
        script = next(a for a in args if a.endswith(".py"))
        local = REPO / "jobs" / Path(script).name
        assert local.exists(), f"{step['Name']}: {script} has no source in jobs/"
        assert 'if __name__ == "__main__"' in local.read_text()
        assert args[args.index(script) + 1:] == ["--env", "emr"]


def test_emr_configuration_enables_delta():
    conf = {c["Classification"]: c for c in json.loads((REPO / "emr/configurations.json")
                                                        .read_text())}
    assert conf["delta-defaults"]["Properties"]["delta.enabled"] == "true"
    assert "DeltaSparkSessionExtension" in conf["spark-defaults"]["Properties"][
        "spark.sql.extensions"]


def test_glue_entrypoint_parses_and_calls_the_cli():
    source = (REPO / "glue_scripts/run_job.py").read_text()
    tree = ast.parse(source)
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert {"awsglue.context", "awsglue.utils", "jobs.cli"} <= imported
