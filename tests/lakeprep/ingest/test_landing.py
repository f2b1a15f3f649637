"""What a replay of a quarantine table re-parses: every record, or those of one file named by its
recorded URI or a path to it; records kept before reasons were data get empty problems."""

from __future__ import annotations

import pytest

from lakeprep.errors import UsageError
from lakeprep.ingest.columns import PROBLEMS, RAW_RECORD, SOURCE_FILE
from lakeprep.ingest.landing import records_to_replay


@pytest.fixture(scope="module")
def held(spark, tmp_path_factory):
    folder = tmp_path_factory.mktemp("raw")
    files = [f"file:{folder}/a.csv", f"file:{folder}/b.csv"]
    # a quarantine table written before reasons were data: no _problems column
    return folder, spark.createDataFrame(
        [(files[0], "1,x"), (files[0], "2,y"), (files[1], "3,z")],
        f"{SOURCE_FILE} string, {RAW_RECORD} string")


def test_every_record_is_replayed_with_empty_problems_when_it_had_none(held):
    _, rows = held
    records, file = records_to_replay(rows, "orders", None)
    assert file is None
    assert sorted(r[RAW_RECORD] for r in records.collect()) == ["1,x", "2,y", "3,z"]
    assert records.schema[PROBLEMS].dataType.simpleString().startswith("array<struct<")
    assert records.where(records[PROBLEMS].isNotNull()).count() == 0


def test_one_file_is_named_by_a_path_to_it_and_answered_by_its_recorded_uri(held):
    folder, rows = held
    records, file = records_to_replay(rows, "orders", str(folder / "a.csv"))
    assert file == f"file:{folder}/a.csv"
    assert sorted(r[RAW_RECORD] for r in records.collect()) == ["1,x", "2,y"]
    with pytest.raises(UsageError, match=r"^--file c.csv: no quarantined record of table "
                       r"orders comes from that file; quarantined files: file:"):
        records_to_replay(rows, "orders", "c.csv")
