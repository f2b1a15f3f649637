"""A job run owns its lineage: calling the job function from a notebook records exactly what
the CLI records (OpenLineage START/COMPLETE, the same datasets, the same commit metadata)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from jobs import ingest
from lakeprep.config import load_settings
from lakeprep.lake import read_table
from lakeprep.runtime import JobContext
from lakeprep.sample.generate import generate

REPO = Path(__file__).resolve().parents[2]
# differ between two runs on two lakes: ids, times, and the conf hash (the lake root is in it)
VOLATILE = {"run_id", "started_at", "ingested_at", "config_hash"}


def _events(lake: Path) -> list[dict]:
    path = lake / "_lakeprep/openlineage/events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def _shape(event: dict, lake: Path) -> dict:
    """What a run's event says, less what differs between two runs (ids, times, lake root)."""
    def name(d: dict) -> str:
        return d["name"].replace(str(lake), "<lake>")

    def version(d: dict) -> str | None:
        v = (d.get("facets", {}).get("version") or {}).get("datasetVersion")
        # raw files are versioned by a digest of their paths, which name the lake root
        return "files:<digest>" if v and v.startswith("files:") else v

    return {"type": event["eventType"], "job": event["job"]["name"],
            "inputs": sorted((name(d), version(d)) for d in event["inputs"]),
            "outputs": sorted((name(d), version(d)) for d in event["outputs"])}


def _commit(lake: Path, table: str) -> dict:
    from deltalake import DeltaTable

    meta = json.loads(DeltaTable(str(lake / "bronze" / table)).history(1)[0]["userMetadata"])
    text = json.dumps({k: v for k, v in meta.items() if k not in VOLATILE}, sort_keys=True)
    return json.loads(text.replace(str(lake), "<lake>"))


def test_a_job_called_from_a_notebook_records_what_the_cli_records(spark, tmp_path,
                                                                     monkeypatch):
    sample = tmp_path / "sample"
    generate(spark, str(sample / "raw"), customers=30, batches=1, defects=True)
    notebook, cli = tmp_path / "notebook", tmp_path / "cli"
    for lake in (notebook, cli):
        shutil.copytree(sample, lake)

    # the notebook: the job function, nothing else
    monkeypatch.setenv("LAKEPREP_DATA", str(notebook))
    settings = load_settings("local", REPO / "conf")
    reports = ingest.run(settings, ["orders"])
    assert reports[0].version == 0 and reports[0].reconciles

    env = {**os.environ, "LAKEPREP_DATA": str(cli), "LAKEPREP_CONF_DIR": str(REPO / "conf")}
    proc = subprocess.run([sys.executable, "-m", "jobs.cli", "run", "ingest", "--env", "local",
                           "--table", "orders"], env=env, capture_output=True, text=True,
                          timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]

    ours, theirs = _events(notebook), _events(cli)
    assert [e["eventType"] for e in ours] == ["START", "COMPLETE"]
    assert [_shape(e, notebook) for e in ours] == [_shape(e, cli) for e in theirs]
    done = _shape(ours[-1], notebook)
    assert done["job"] == "ingest"
    assert ("<lake>/bronze/orders", "0") in done["outputs"]  # the commit, recorded as made
    assert any(n.startswith("<lake>/raw/orders") for n, _ in done["inputs"])  # its raw files
    assert _commit(notebook, "orders") == _commit(cli, "orders")
    assert _commit(notebook, "orders")["job"] == "ingest"


def test_read_table_reads_a_catalog_table_by_name_latest_or_as_of_a_version(spark, tmp_path,
                                                                           monkeypatch):
    monkeypatch.setenv("LAKEPREP_DATA", str(tmp_path))
    settings = load_settings("local", REPO / "conf")
    ctx = JobContext.start(settings, "fixture", spark=spark)
    schema = "customer_id string, country string, signup_date date"
    day = __import__("datetime").date(2026, 1, 1)
    ctx.table("customers").append(spark.createDataFrame([("C1", "US", day)], schema), {})
    ctx.table("customers").append(spark.createDataFrame([("C2", "DE", day)], schema), {})
    assert read_table("customers", settings=settings).count() == 2
    assert [r.customer_id for r in read_table("customers", 0, settings=settings).collect()] == [
        "C1"]
