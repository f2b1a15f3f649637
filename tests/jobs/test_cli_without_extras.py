"""The command line of a core install: without the `inference` extra (falcon, gunicorn), as on
a cluster whose Python has the wheel and its requirements only, every command still parses and
runs; `serve` alone says what to install. Without the `spark` extra, the commands that need no
Spark run, and the others say in one line what to install."""

from __future__ import annotations

import json
import sys

import pytest

from jobs import cli


@pytest.fixture
def without_inference_extra(monkeypatch):
    for name in [m for m in sys.modules if m.startswith("lakeprep.inference")]:
        monkeypatch.delitem(sys.modules, name)  # imported again, as in a fresh process
    for extra in ("falcon", "gunicorn"):
        monkeypatch.setitem(sys.modules, extra, None)  # `import falcon` raises ImportError


def test_the_job_commands_parse_without_the_inference_extra(without_inference_extra):
    args = cli.build_parser().parse_args(["run", "build-features", "--set", "customer"])
    assert (args.command, args.job, args.feature_set) == ("run", "build-features", "customer")


def test_serve_without_the_inference_extra_names_it(without_inference_extra, capsys):
    assert cli.main(["serve", "/tmp/model", "--port", "9000"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "pip install 'lakeprep[inference]'" in lines[0], lines
    assert "falcon" in lines[0]


# a fresh process whose Python has no Spark (a core install): importing pyspark, delta-spark or
# py4j fails as it would there
WITHOUT_SPARK = """
import sys
for name in ("pyspark", "delta", "py4j"):
    sys.modules[name] = None
from jobs import cli
sys.exit(cli.main(sys.argv[1:]))
"""


def _without_spark(*argv: str, env: dict[str, str] | None = None):
    import os
    import subprocess
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    return subprocess.run([sys.executable, "-c", WITHOUT_SPARK, *argv], cwd=repo,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def test_a_command_that_needs_no_spark_runs_without_it(tmp_path):
    done = _without_spark("iam-policy", "--env", "glue", "--output", "json", env={
        "LAKEPREP_BUCKET": "acme-lake", "AWS_REGION": "eu-west-1",
        "LAKEPREP_GLUE_ROLE_ARN": "arn:aws:iam::123456789012:role/lakeprep-glue",
        "LAKEPREP_DATA": str(tmp_path)})
    assert done.returncode == 0 and not done.stderr, done.stderr
    policies = json.loads(done.stdout)
    assert "glue-job-role" in policies
    assert "arn:aws:s3:::acme-lake/lakeprep/logs/*" in done.stdout


def test_a_command_that_needs_spark_names_the_extra_in_one_line(tmp_path):
    for command in ("validate", "tables"):
        done = _without_spark(command, env={"LAKEPREP_DATA": str(tmp_path)})
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1, done.stderr
        assert lines[0].startswith(f"error: lakeprep {command} needs Spark, which is not "
                                   f"installed: pip install 'lakeprep[spark]'"), lines
