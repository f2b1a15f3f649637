"""``lakeprep validate``: every planted mistake found in one run, each with its file and key."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from features.snapshot import snapshot_columns
from jobs.cli import main
from jobs.validate import validate
from lakeprep.config import load_settings

REPO_CONF = Path(__file__).resolve().parents[2] / "conf"
ENVIRON = {"LAKEPREP_BUCKET": "b", "LAKEPREP_DATA": "/tmp/lakeprep"}


def _plant_typos(root: Path) -> dict[str, str]:
    """One misspelt key in every conf file (as tests/lakeprep/test_config.py); file -> key."""
    planted = {}
    for path in sorted(root.rglob("*.yaml")):
        data = yaml.safe_load(path.read_text()) or {}
        if path.parent.name == "quality":
            data["expectationz"] = []
            planted[str(path)] = "expectationz"
        else:
            section = next(iter(data))
            if isinstance(data[section], dict):
                data[section]["formts"] = 1
                planted[str(path)] = f"{section}.formts"
            else:
                data["formts"] = 1
                planted[str(path)] = "formts"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    return planted


def _plant_spec_mistakes(path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    steps = data["features"]["sets"]["customer"]["pipeline"]["steps"]
    steps[0]["op"] = "add_missing_indicatr"  # a bad op
    steps[3]["params"]["fold"] = -1.5  # cap_spend: winsorize's fold must be > 0
    steps[4]["params"]["inputCols"] = ["amount_sum_90d_capp"]  # log_spend reads a ghost column
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_shipped_configuration_has_no_problem():
    for env in ("local", "emr", "glue"):
        problems, summary = validate(env, REPO_CONF, ENVIRON)
        assert problems == [], [str(p) for p in problems]
        assert summary.startswith(f"conf ({env}): ") and summary.endswith("no problems")
        assert "18 feature steps" in summary  # customer's 11 and taxi_tips' 7


def test_every_planted_mistake_is_found_in_one_run_with_file_and_key(tmp_path):
    root = tmp_path / "conf"
    shutil.copytree(REPO_CONF, root)
    planted = _plant_typos(root)
    features = root / "base" / "features.yaml"
    _plant_spec_mistakes(features)
    found: list[str] = []
    for env in ("local", "emr", "glue"):
        problems, summary = validate(env, root, ENVIRON)
        assert summary.endswith(f"{len(problems)} problem(s)")
        found += [str(p) for p in problems]
    for path, key in planted.items():
        assert any(line.startswith(f"{path}: ") and key in line for line in found), (path, key)
    spec = [line for line in found
            if line.startswith(f"{features}: features.sets.customer.pipeline step")]
    assert any("step 'flag_missing' (#1): unknown operation 'add_missing_indicatr'" in line
               for line in spec), spec
    assert any("step 'cap_spend' (#4, op 'winsorize'): Winsorizer: fold must be in (0.0, inf), "
               "got -1.5" in line for line in spec), spec
    assert any("step 'log_spend' (#5, op 'log1p'): column(s) ['amount_sum_90d_capp'] not found"
               in line for line in spec), spec


def test_a_chained_spec_validates_and_a_suite_column_is_checked(tmp_path):
    root = tmp_path / "conf"
    shutil.copytree(REPO_CONF, root)
    features = root / "base" / "features.yaml"
    data = yaml.safe_load(features.read_text())
    # datetime parts -> their cyclical encoding -> a difference of the encodings
    data["features"]["sets"]["customer"]["pipeline"]["steps"][:0] = [
        {"name": "signup_parts", "op": "datetime_features",
         "params": {"inputCols": ["signup_ts"], "features": ["month"]}},
        {"name": "signup_cycle", "op": "cyclical_features",
         "params": {"inputCols": ["signup_ts_month"], "maxValues": {"signup_ts_month": 12}}},
        {"name": "signup_rel", "op": "relative_features",
         "params": {"inputCols": ["signup_ts_month_sin"], "referenceCols":
                    ["signup_ts_month_cos"], "funcs": ["sub"]}}]
    features.write_text(yaml.safe_dump(data, sort_keys=False))
    suite = root / "base" / "quality" / "orders.yaml"
    decl = yaml.safe_load(suite.read_text())
    decl["expectations"].append({"expect_column_values_to_not_be_null": {"column": "amout"}})
    suite.write_text(yaml.safe_dump(decl, sort_keys=False))
    problems, _ = validate("local", root, ENVIRON)
    assert [str(p) for p in problems] == [str(p) for p in problems if p.file == str(suite)]
    assert len(problems) == 1 and "['amout']" in problems[0].message
    assert problems[0].key.startswith(f"expectations[{len(decl['expectations']) - 1}]")


def test_a_rows_set_reads_its_source_columns_less_those_it_drops(tmp_path):
    root = tmp_path / "conf"
    shutil.copytree(REPO_CONF, root)
    features = root / "base" / "features.yaml"
    data = yaml.safe_load(features.read_text())
    taxi = data["features"]["sets"]["taxi_tips"]
    taxi["drop"].append("fare_amount")  # the imputer still reads it
    taxi["time_filter"]["column"] = "pickup_time"  # not a column of taxi_trips
    features.write_text(yaml.safe_dump(data, sort_keys=False))
    problems, _ = validate("local", root, ENVIRON)
    found = sorted((p.key, p.message) for p in problems)
    assert [k for k, _ in found] == [
        "features.sets.taxi_tips.pipeline step 'impute_medians' (#2, op 'impute')",
        "features.sets.taxi_tips.time_filter.column"], found
    assert "['fare_amount'] not found" in found[0][1] and "['pickup_time']" in found[1][1]
    assert all(p.file == str(features) for p in problems)


def test_snapshot_columns_follow_from_the_conf():
    settings = load_settings("local", REPO_CONF, ENVIRON)
    spec = settings.features.sets["customer"].snapshot
    cols = snapshot_columns(spec)
    assert cols[:6] == ["customer_id", "country", "segment", "birth_year", "signup_ts",
                        "snapshot_date"]
    assert {"orders_count_30d", "amount_max_90d", "category_count_distinct_90d",
            "days_since_last_order", "events_count_30d", "purchased_next_30d"} <= set(cols)


def test_cli_exit_codes(tmp_path, capsys):
    assert main(["validate", "--env", "local", "--conf-dir", str(REPO_CONF)]) == 0
    assert "no problems" in capsys.readouterr().out
    root = tmp_path / "conf"
    shutil.copytree(REPO_CONF, root)
    _plant_spec_mistakes(root / "base" / "features.yaml")
    assert main(["validate", "--env", "local", "--conf-dir", str(root)]) == 2
    captured = capsys.readouterr()
    # the unknown op declares nothing, so the assembler's read of its indicators is a 4th
    assert captured.err.count("error:") == 4 and "4 problem(s)" in captured.out


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_validate_starts_no_jvm():
    # a fresh interpreter: validate must leave pyspark's gateway unset and start no java process
    code = f"""
import os
from jobs.validate import validate
from pyspark import SparkContext
p, s = validate('local', {str(REPO_CONF)!r})
assert SparkContext._gateway is None and SparkContext._jvm is None, 'JVM'
kids = []
for d in filter(str.isdigit, os.listdir('/proc')):
    try:  # another process of the machine may end between the listing and the read
        with open(f'/proc/{{d}}/stat') as stat:
            if stat.read().split()[3] == str(os.getpid()):
                kids.append(d)
    except OSError:
        continue
assert not kids, kids
print(s)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**__import__("os").environ, **ENVIRON}, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "no problems" in done.stdout
