"""The quality gates' evidence kept next to the lake: validation results saved and read back in
order, files that are not results named, the Data Docs site written whole."""

from __future__ import annotations

import json

import pytest

from lakeprep import quality_store
from lakeprep.config import load_settings
from lakeprep.errors import InputError


@pytest.fixture
def settings(tmp_path):
    return load_settings("local", environ={"LAKEPREP_DATA": str(tmp_path)})


def test_results_are_kept_under_the_system_folder_and_read_back_oldest_first(settings,
                                                                            tmp_path):
    assert quality_store.load_results(settings) == []
    for when, run in (("20260502T000000000000Z", "r2"), ("20260501T000000000000Z", "r1")):
        uri = quality_store.save_result(settings, f"{when}__orders__{run}.json",
                                        {"run_id": run, "table": "orders",
                                         "ge_result": {"success": run == "r1"}})
        assert uri == str(tmp_path / "_lakeprep" / "quality" / "results" /
                          f"{when}__orders__{run}.json")
    saved = json.loads((tmp_path / "_lakeprep/quality/results/"
                        "20260501T000000000000Z__orders__r1.json").read_text())
    assert saved["ge_result"] == {"success": True}
    assert [d["run_id"] for d in quality_store.load_results(settings)] == ["r1", "r2"]


def test_a_file_that_is_not_a_result_is_named(settings, tmp_path):
    with pytest.raises(InputError, match=r"^results/bad.json is not a lakeprep validation "):
        quality_store.parse_result('{"x": 1}', "results/bad.json")
    with pytest.raises(InputError, match=r"^cannot read validation result results/x.json"):
        quality_store.parse_result("{", "results/x.json")
    folder = tmp_path / "_lakeprep" / "quality" / "results"
    folder.mkdir(parents=True)
    (folder / "notes.json").write_text("[1, 2]")
    with pytest.raises(InputError, match=r"results/notes.json is not a lakeprep validation"):
        quality_store.load_results(settings)


def test_the_docs_site_is_written_whole_and_its_index_returned(settings, tmp_path):
    pages = {"site/index.html": b"<!DOCTYPE html>", "site/validations/a.html": b"<p>a</p>"}
    index = quality_store.save_docs(settings, pages, "site/index.html")
    docs = tmp_path / "_lakeprep" / "quality" / "docs"
    assert index == str(docs / "site" / "index.html")
    assert {str(p.relative_to(docs)): p.read_bytes() for p in docs.rglob("*.html")} == pages
