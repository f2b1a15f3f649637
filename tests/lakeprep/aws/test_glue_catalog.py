"""`lakeprep catalog register`: the lake's Delta tables in the Glue Data Catalog (moto server)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from jobs import cli
from lakeprep.aws.glue_catalog import hive_type

BUCKET = "catalog-lake"


@pytest.fixture
def lake(aws, monkeypatch):
    """An emr-env lake on moto S3 holding one table, `orders` (partitioned by order_date)."""
    import pyarrow as pa
    from deltalake import write_deltalake

    s3 = aws("s3")
    if BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("LAKEPREP_BUCKET", BUCKET)
    orders = pa.table({"order_id": ["o1", "o2"], "amount": [1.5, 2.0], "quantity": [1, 2],
                       "tags": [["a"], []], "order_date": [date(2024, 1, 1), date(2024, 1, 2)]})
    write_deltalake(f"s3://{BUCKET}/lake/bronze/orders", orders, partition_by=["order_date"],
                    mode="overwrite")
    return aws


def test_register_creates_the_database_and_delta_tables_idempotently(lake, capsys):
    glue = lake("glue")
    assert cli.main(["catalog", "register", "--env", "emr"]) == 0
    first = capsys.readouterr().out
    assert "database lakeprep: created" in first and "table lakeprep.orders: created" in first
    assert "table customers: not in the lake yet" in first
    table = glue.get_table(DatabaseName="lakeprep", Name="orders")["Table"]
    assert table["Parameters"]["table_type"] == "DELTA"
    assert table["Parameters"]["spark.sql.sources.provider"] == "delta"
    sd = table["StorageDescriptor"]
    assert sd["Location"] == f"s3://{BUCKET}/lake/bronze/orders"
    assert [(c["Name"], c["Type"]) for c in sd["Columns"]] == [
        ("order_id", "string"), ("amount", "double"), ("quantity", "bigint"),
        ("tags", "array<string>")]
    assert table["PartitionKeys"] == [{"Name": "order_date", "Type": "date"}]
    assert cli.main(["catalog", "register", "--env", "emr"]) == 0
    second = capsys.readouterr().out
    assert "database lakeprep: exists" in second and "table lakeprep.orders: unchanged" in second
    assert [t["Name"] for t in glue.get_tables(DatabaseName="lakeprep")["TableList"]] == ["orders"]


def test_dry_run_prints_the_requests_and_creates_nothing(lake, capsys):
    glue = lake("glue")
    before = [d["Name"] for d in glue.get_databases()["DatabaseList"]]
    assert cli.main(["catalog", "register", "--env", "emr", "--dry-run"]) == 0
    requests = json.loads(capsys.readouterr().out)
    assert [r["operation"] for r in requests] == ["create_database", "create_table"]
    assert requests[1]["params"]["TableInput"]["Name"] == "orders"
    assert [d["Name"] for d in glue.get_databases()["DatabaseList"]] == before


def test_hive_types_of_nested_delta_types():
    vector = {"type": "struct", "fields": [{"name": "type", "type": "byte"},
                                           {"name": "values", "type": {
                                               "type": "array", "elementType": "double"}}]}
    assert hive_type(vector) == "struct<type:tinyint,values:array<double>>"
    assert hive_type({"type": "map", "keyType": "string", "valueType": "long"}) == \
        "map<string,bigint>"
    assert hive_type("decimal(10,2)") == "decimal(10,2)"
