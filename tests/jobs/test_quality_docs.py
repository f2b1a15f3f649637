"""Validation results are saved one file per run and rendered as GE Data Docs."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from jobs.quality_docs import build_data_docs, load_validation_results, save_validation_result
from lakeprep.errors import InputError
from quality import run_gate

SUITE = {
    "table": "trips",
    "name": "trips_bronze",
    "expectations": [
        {"expect_table_row_count_to_be_between": {"min_value": 1}},
        {"expect_column_values_to_not_be_null": {"column": "fare"}},
        {"expect_column_values_to_be_between": {"column": "fare", "min_value": 0}},
    ],
}


@pytest.fixture(scope="module")
def outcome(spark):
    df = spark.createDataFrame([(1, 5.0), (2, -1.0), (3, None)], "id int, fare double")
    return run_gate(df.localCheckpoint(eager=True), SUITE, policy="warn", source="trips.yml")


def test_save_writes_one_named_file_per_run(outcome, tmp_path):
    when = datetime(2024, 5, 1, 12, 30, 0, tzinfo=UTC)
    path = save_validation_result(outcome.report, tmp_path / "results", run_id="run/42",
                                  extra={"verdict": outcome.verdict.value}, now=when)
    assert path.name == "20240501T123000000000Z__trips__run-42.json"
    document = json.loads(path.read_text())
    assert (document["run_id"], document["table"]) == ("run/42", "trips")
    assert document["saved_at"] == "2024-05-01T12:30:00+00:00"
    assert document["extra"] == {"verdict": "warn"}
    assert document["ge_result"]["suite_name"] == "trips_bronze"
    assert document["ge_result"]["success"] is False
    assert document["report"]["statistics"]["unsuccessful_expectations"] == 2
    later = save_validation_result(outcome.report.to_dict(), tmp_path / "results", run_id="r43",
                                   now=when.replace(hour=13))
    assert [d["run_id"] for d in load_validation_results(tmp_path / "results")] == [
        "run/42", "r43"]
    assert later.exists()


def test_data_docs_index_mentions_suite_and_runs(outcome, tmp_path):
    results = tmp_path / "results"
    save_validation_result(outcome.report, results, run_id="r1")
    save_validation_result(outcome.report, results, run_id="r2")
    index = build_data_docs(results, tmp_path / "docs")
    assert index.name == "index.html" and index.exists()
    html = index.read_text()
    assert "trips_bronze" in html
    assert "validations/trips_bronze/r1/" in html and "validations/trips_bronze/r2/" in html
    suite_page = index.parent / "expectations" / "trips_bronze.html"
    assert suite_page.exists()
    run_pages = list((index.parent / "validations" / "trips_bronze").rglob("*.html"))
    assert len(run_pages) == 2
    # a rebuild with the same folder adds nothing twice and keeps working
    assert build_data_docs(results, tmp_path / "docs") == index


def test_docs_errors_name_the_path(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        build_data_docs(tmp_path / "missing", tmp_path / "docs")
    (tmp_path / "bad.json").write_text('{"x": 1}')
    with pytest.raises(InputError, match=r"bad.json is not a lakeprep validation result"):
        load_validation_results([tmp_path / "bad.json"])
    with pytest.raises(InputError, match="'ge_result' key expected"):
        save_validation_result({"table": "t"}, tmp_path, run_id="r")


def test_data_docs_work_offline_name_the_run_and_link_its_report(outcome, tmp_path):
    import re

    results = tmp_path / "results"
    save_validation_result(outcome.report, results, run_id="20260501T000000Z-ingest-ab12")
    report = tmp_path / "reports" / "20260501T000000Z-demo-cd34.html"
    report.parent.mkdir()
    report.write_text("<p>run report</p>")
    index = build_data_docs(results, tmp_path / "docs",
                            reports={"20260501T000000Z-ingest-ab12": str(report)})
    pages = list(index.parent.rglob("*.html"))
    assert len(pages) == 3  # index, suite, one validation
    for page in pages:
        html = page.read_text()
        # nothing the browser would fetch: no remote script, stylesheet, image or CSS url()
        assert not re.search(r"<(script|link|img)\b[^>]*(src|href)=\"https?://", html), page
        assert not re.search(r"url\(['\"]?https?://", html), page
        assert "<style>" in html and "bootstrapTable" in html or "expectations" in str(page)
    validation = next(p for p in pages if "validations" in p.parts)
    html = validation.read_text()
    assert "__none__" not in html
    assert "20260501T000000Z-ingest-ab12" in html
    link = re.search(r'<a href="([^"]+)">run report</a>', html)
    assert link and (validation.parent / link.group(1)).resolve() == report.resolve()
    # a second build does not inline twice
    build_data_docs(results, tmp_path / "docs")
    assert index.read_text().count("lakeprep: offline") == 1
