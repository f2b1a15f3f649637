"""A damaged Delta log or a missing data file stops a job with one line (exit 4), and
``lakeprep verify`` says what is wrong and what to do."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from jobs.cli import main
from lakeprep.config import load_settings
from lakeprep.errors import LakeTableError
from lakeprep.lake.verify import verify_table
from lakeprep.runtime import JobContext

CATALOG = """
tables:
  events:
    layer: bronze
    partition_by: [day]
"""


@pytest.fixture(scope="module")
def intact(spark, tmp_path_factory) -> Path:
    """A lake with a two-version table (the second commit adds two files)."""
    root = tmp_path_factory.mktemp("verify")
    ctx = _ctx(spark, root)
    table = ctx.table("events")
    table.append(spark.createDataFrame([(1, "2026-01-01")], "id int, day string"),
                 ctx.commit_metadata(table="events"))
    table.append(spark.createDataFrame([(2, "2026-01-02"), (3, "2026-01-03"), (4, "2026-01-03")],
                                       "id int, day string"),
                 ctx.commit_metadata(table="events"))
    return root


def _ctx(spark, root: Path) -> JobContext:
    conf = root / "conf"
    if not conf.exists():
        (conf / "base").mkdir(parents=True)
        (conf / "local").mkdir()
        (conf / "base/catalog.yaml").write_text(CATALOG)
        (conf / "base/lakeprep.yaml").write_text(textwrap.dedent(f"""
            lake: {{engine: deltalake, layers: {{bronze: {root}/bronze}}, system: {root}/sys}}
            """))
    return JobContext.start(load_settings("local", conf, environ={}), "check", spark=spark)


@pytest.fixture
def lake(intact, tmp_path) -> Path:
    root = tmp_path / "lake"
    shutil.copytree(intact, root)
    conf = root / "conf/base/lakeprep.yaml"
    conf.write_text(conf.read_text().replace(str(intact), str(root)))
    return root


def _last_commit(root: Path) -> Path:
    return sorted((root / "bronze/events/_delta_log").glob("*.json"))[-1]


def test_an_intact_table_verifies_with_its_counts(spark, lake):
    summary = verify_table(str(lake / "bronze/events"))
    assert (summary.versions, summary.files, summary.rows, summary.findings) == (2, 3, 4, [])
    assert _ctx(spark, lake).table("events").read().count() == 4


@pytest.mark.parametrize("damage, expected", [
    (lambda text: text.splitlines()[0] + "\n", r"commit 1 .* is incomplete"),
    (lambda text: "", r"commit 1 .* is empty"),
    (lambda text: text[: len(text) // 2], r"commit 1 .* is cut off: line \d+ of \d+ is not "
                                          r"complete JSON"),
])
def test_a_damaged_last_commit_stops_the_job_before_it_reads(spark, lake, damage, expected):
    commit = _last_commit(lake)
    commit.write_text(damage(commit.read_text()))
    with pytest.raises(LakeTableError, match=expected) as e:
        _ctx(spark, lake).table("events")
    message = str(e.value)
    assert "\n" not in message and "intact as of version 0" in message
    assert "move that file out of _delta_log" in message


def test_a_deleted_data_file_stops_the_job_and_verify_reports_it(spark, lake, capsys):
    victim = next((lake / "bronze/events").rglob("*.parquet"))
    victim.unlink()
    with pytest.raises(LakeTableError, match=r"1 data file\(s\) of the current version are "
                                             r"missing \(e\.g\. .*\.parquet\)"):
        _ctx(spark, lake).table("events")
    code = main(["verify", "--all", "--conf-dir", str(lake / "conf")])
    assert code == 4
    assert "damaged events:" in capsys.readouterr().err


def test_verify_cli_on_an_intact_lake(lake, capsys):
    assert main(["verify", "events", "--conf-dir", str(lake / "conf")]) == 0
    assert "ok events: 2 version(s), 3 file(s), 4 row(s)" in capsys.readouterr().out
