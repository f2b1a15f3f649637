"""The EMR, EMR Serverless and Glue definitions submit the one CLI entry point with arguments
the real CLI parser accepts (a job module of its own is never the entry). The examples in emr/
are what `lakeprep deploy ... --dry-run` generates (tests/twin runs them)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from jobs import cli

REPO = Path(__file__).resolve().parents[1]


def _parse(argv: list[str]):
    try:
        return cli.build_parser().parse_args(argv)
    except SystemExit as e:  # argparse exits on a bad argument list
        pytest.fail(f"the CLI parser rejects {argv}: exit {e.code}")


def _entry(args: list[str]) -> tuple[str, list[str]]:
    script = next(a for a in args if a.endswith(".py"))
    return script, args[args.index(script) + 1:]


@pytest.mark.parametrize("step", json.loads((REPO / "emr/steps.json").read_text()),
                         ids=lambda s: s["Name"])
def test_emr_step_runs_the_cli_entry(step):
    args = step["HadoopJarStep"]["Args"]
    assert step["HadoopJarStep"]["Jar"] == "command-runner.jar" and args[0] == "spark-submit"
    script, argv = _entry(args)
    assert script.endswith("/cli.py")
    assert args[args.index("--archives") + 1].endswith("/lakeprep_python.tar.gz#environment")
    assert "spark.yarn.appMasterEnv.PYSPARK_PYTHON=./environment/bin/python" in args
    ns = _parse(argv)
    assert ns.command == "run" and ns.env == "emr"


def test_emr_serverless_job_run_goes_through_the_cli():
    run = json.loads((REPO / "emr/serverless_job_run.json").read_text())["jobDriver"]
    assert run["sparkSubmit"]["entryPoint"].endswith("/cli.py")
    tokens = run["sparkSubmit"]["sparkSubmitParameters"].split()  # as the service splits them
    assert tokens[::2] == ["--conf"] * (len(tokens) // 2)
    ns = _parse(run["sparkSubmit"]["entryPointArguments"])
    assert ns.command == "run" and ns.job == "ingest"


def test_every_job_parses_as_an_emr_step_would():
    for job in cli.JOBS:
        assert _parse(["run", job, "--env", "emr"]).job == job


def test_emr_configuration_enables_delta():
    conf = {c["Classification"]: c for c in json.loads((REPO / "emr/configurations.json")
                                                        .read_text())}
    assert conf["delta-defaults"]["Properties"]["delta.enabled"] == "true"
    assert "DeltaSparkSessionExtension" in conf["spark-defaults"]["Properties"][
        "spark.sql.extensions"]


def test_glue_entrypoint_needs_no_awsglue_and_builds_arguments_the_cli_accepts():
    source = (REPO / "glue_scripts/run_job.py").read_text()
    tree = ast.parse(source)
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m and m.startswith("awsglue")}
    assert "jobs.cli" in imported
    namespace: dict = {}
    exec(compile(source, "run_job.py", "exec"), namespace)  # defines, does not run
    argv = namespace["cli_arguments"]({"LAKEPREP_JOB": "export", "LAKEPREP_ENV": "glue",
                                       "LAKEPREP_ARGS": '["--version", "3"]'})
    parsed = _parse(argv)
    assert (parsed.job, parsed.version) == ("export", 3)
