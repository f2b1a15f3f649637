"""Validation results as documents and GE Data Docs rendered from them, offline."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lakeprep.errors import InputError
from lakeprep.storage import write_files
from quality import run_gate
from quality.docs import INDEX, SITE, render_data_docs, validation_document

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


def test_a_result_is_one_named_document_per_run(outcome):
    when = datetime(2024, 5, 1, 12, 30, 0, tzinfo=UTC)
    name, document = validation_document(outcome.report, run_id="run/42",
                                         extra={"verdict": outcome.verdict.value}, now=when)
    assert name == "20240501T123000000000Z__trips__run-42.json"
    assert (document["run_id"], document["table"]) == ("run/42", "trips")
    assert document["saved_at"] == "2024-05-01T12:30:00+00:00"
    assert document["extra"] == {"verdict": "warn"}
    assert document["ge_result"]["suite_name"] == "trips_bronze"
    assert document["ge_result"]["success"] is False
    assert document["report"]["statistics"]["unsuccessful_expectations"] == 2
    again = validation_document(outcome.report.to_dict(), run_id="r43", now=when)[1]
    assert again["ge_result"] == document["ge_result"]


def test_a_report_that_is_not_a_result_is_named(outcome):
    with pytest.raises(InputError, match="'ge_result' key expected"):
        validation_document({"table": "t"}, run_id="r")


def test_data_docs_index_mentions_suite_and_runs(outcome, tmp_path):
    documents = [validation_document(outcome.report, run_id=r)[1] for r in ("r1", "r2")]
    pages = render_data_docs(documents, str(tmp_path / "docs"))
    html = pages[INDEX].decode()
    assert "trips_bronze" in html
    assert "validations/trips_bronze/r1/" in html and "validations/trips_bronze/r2/" in html
    assert f"{SITE}/expectations/trips_bronze.html" in pages
    assert len([p for p in pages if p.startswith(f"{SITE}/validations/trips_bronze/")
                and p.endswith(".html")]) == 2
    with pytest.raises(InputError, match="no validation results to render"):
        render_data_docs([], str(tmp_path / "docs"))


def test_data_docs_work_offline_name_the_run_and_link_its_report(outcome, tmp_path):
    run = "20260501T000000Z-ingest-ab12"
    document = validation_document(outcome.report, run_id=run)[1]
    report = tmp_path / "reports" / "20260501T000000Z-demo-cd34.html"
    report.parent.mkdir()
    report.write_text("<p>run report</p>")
    docs = tmp_path / "docs"
    write_files(str(docs), render_data_docs([document], str(docs), {run: str(report)}))
    pages = list((docs / SITE).rglob("*.html"))
    assert len(pages) == 3  # index, suite, one validation
    for page in pages:
        html = page.read_text()
        # nothing the browser would fetch: no remote script, stylesheet, image or CSS url()
        assert not re.search(r"<(script|link|img)\b[^>]*(src|href)=\"https?://", html), page
        assert not re.search(r"url\(['\"]?https?://", html), page
        assert "<style>" in html and "bootstrapTable" in html or "expectations" in str(page)
        assert html.count("lakeprep: offline") == 1
    validation = next(p for p in pages if "validations" in p.parts)
    html = validation.read_text()
    assert "__none__" not in html and run in html
    link = re.search(r'<a href="([^"]+)">run report</a>', html)
    assert link and (validation.parent / link.group(1)).resolve() == report.resolve()
    assert Path(docs / INDEX).exists()
