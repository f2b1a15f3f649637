"""`lakeprep demo`: every stage in one session, a summary that equals the tables' contents,
the run report and Data Docs written, and a re-run that changes nothing it should not."""

from __future__ import annotations

import json

from deltalake import DeltaTable

from jobs.demo import STAGES, RunRecord
from lakeprep.lake import open_table


def test_demo_runs_every_stage_and_its_summary_equals_the_tables(demo_run, spark):
    root, settings, rec = demo_run
    assert rec.ok and [s.name for s in rec.stages] == STAGES
    assert all(s.ok for s in rec.stages)
    assert set(rec.job_runs) == {"ingest", "build-features", "export"}
    names = [t.table for t in rec.tables]
    assert names == ["customers", "orders", "web_events", "customer_features"]
    for t in rec.tables:
        # the version the run wrote (the re-run test may have added one since): on a fresh
        # lake, what the summary says was written is what that version holds
        location = settings.table(t.table).location
        commits = {c.version: c.metadata for c in open_table(spark, location).history()}
        assert commits[t.version]["run_id"] in rec.job_runs.values(), t
        rows = DeltaTable(location, version=t.version).to_pyarrow_table().num_rows
        assert (t.written, t.rows_in_table) == (rows, rows), t
        assert t.rows_read == t.written + t.quarantined + t.duplicates, t
        quarantine = settings.table(t.table).quarantine_location
        held = DeltaTable(quarantine).to_pyarrow_table().num_rows if t.quarantined else 0
        assert t.quarantined == held and (t.quarantine_rows or 0) == held, t
    ingest = {r["table"]: r for r in rec.ingest}
    assert all(r["files_new"] == 2 for r in ingest.values())
    assert rec.features["rows"] == rec.tables[-1].written
    assert sum(rec.export["rows"].values()) == rec.features["rows"]
    assert rec.tables[0].gate and rec.export["gate"] == "pass"


def test_demo_keeps_its_record_report_and_docs(demo_run):
    root, settings, rec = demo_run
    saved = RunRecord.from_dict(json.loads(
        (root / "_lakeprep" / "runs" / f"{rec.run_id}.json").read_text()))
    assert saved.to_dict() == rec.to_dict()
    report = root / "_lakeprep" / "reports" / f"{rec.run_id}.html"
    assert rec.report_path == str(report) and report.exists()
    html = report.read_text()
    for heading in ("Summary", "Ingest reconcile", "Quality gates", "Quarantine reasons",
                    "Lineage", "Feature distributions", "Missing values", "Correlations",
                    "Class balance per split", "Drift against the training baseline"):
        assert heading in html, heading
    assert html.count("<svg") >= 10
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    assert rec.data_docs and (root / "_lakeprep" / "quality" / "docs").exists()
    logs_of_run = [p for p in (root / "_lakeprep" / "quality" / "results").glob("*.json")
                   if rec.job_runs["ingest"] in p.name]
    assert len(logs_of_run) == 3  # customers, orders, web_events


def test_demo_rerun_through_the_cli_is_safe_and_prints_json_lines(demo_run, capsys,
                                                                  monkeypatch):
    from jobs.cli import main

    root, settings, first = demo_run
    monkeypatch.setenv("LAKEPREP_DATA", str(root))
    code = main(["demo", "--env", "local", "--conf-dir", str(settings.conf_dir),
                 "--output", "json"])
    assert code == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    tables = {x["table"]: x for x in lines if x.get("table") and "rows read" in x}
    # no new raw files: nothing read, nothing written, the bronze versions unchanged
    for name in ("customers", "orders", "web_events"):
        before = next(t for t in first.tables if t.table == name)
        assert tables[name]["rows read"] == 0 and tables[name]["version"] == before.version
        assert tables[name]["rows in table"] == before.rows_in_table
    # the snapshot partition is replaced, not appended to
    features = tables["customer_features"]
    assert features["rows in table"] == first.tables[-1].rows_in_table
    assert any(x.get("report", "").endswith(".html") for x in lines)


def test_piped_output_is_full_width_and_counts_add_up(demo_run, capsys, monkeypatch):
    """history, lineage and tables on the demo's lake, as a log or `| cat` would get them."""
    from jobs.cli import main

    root, settings, rec = demo_run
    monkeypatch.setenv("LAKEPREP_DATA", str(root))
    orders = next(r for r in rec.ingest if r["table"] == "orders")
    conf = ["--conf-dir", settings.conf_dir, "--quiet"]

    assert main(["history", "orders", *conf]) == 0
    text = capsys.readouterr().out
    assert "…" not in text and rec.job_runs["ingest"] in text  # not cut, not wrapped
    assert main(["history", "orders", *conf, "--output", "json"]) == 0
    first = [json.loads(x) for x in capsys.readouterr().out.splitlines()][-1]
    parse = int(dict(kv.split("=") for kv in first["counts"].split(", "))["quarantined"])
    # parse rejects (in the commit's counts) + the gate's quarantine = what ingest set aside
    assert parse + first["gate quarantined"] == orders["quarantined"]

    assert main(["lineage", "orders", *conf]) == 0
    text = capsys.readouterr().out
    assert f"quarantined={parse}" in text
    assert f"gate_quarantined={first['gate quarantined']}" in text or not first[
        "gate quarantined"]

    assert main(["tables", *conf, "--output", "json"]) == 0
    rows = {r["name"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows["raw_orders"]["location"] == settings.source_pattern(settings.table("raw_orders"))
    assert rows["raw_orders"]["location"].startswith(str(root))
    assert rows["orders"]["version"] == orders["version"]
