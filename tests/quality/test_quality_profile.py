"""profile() proposes a reviewable suite from one or two aggregations."""

from __future__ import annotations

import pytest

from quality import QualityInputError, SuiteDeclaration, compile_suite, profile


@pytest.fixture(scope="module")
def proposed(orders_df):
    return profile(orders_df, table="orders", max_categories=3)


def _find(suite, name, column):
    return [next(iter(e.values())) for e in suite["expectations"]
            if next(iter(e)) == name and next(iter(e.values())).get("column") == column]


def test_profile_is_a_valid_suite_declaration(proposed, orders_df):
    decl = SuiteDeclaration.from_mapping(proposed, "profile")
    assert decl.table == "orders"
    compile_suite(decl, schema=orders_df.schema)  # compiles against the profiled table
    assert proposed["expectations"][:2] == [
        {"expect_table_row_count_to_be_between": {"min_value": 1}},
        {"expect_table_columns_to_match_set": {"column_set": orders_df.columns,
                                               "exact_match": True}},
    ]
    assert proposed["meta"]["profiled_rows"] == 9


def test_profile_values(proposed):
    assert _find(proposed, "expect_column_values_to_be_of_type", "amount") == [
        {"column": "amount", "type_": "DoubleType"}]
    # 8 of 9 amounts present: not_null with mostly rounded down
    assert _find(proposed, "expect_column_values_to_not_be_null", "amount") == [
        {"column": "amount", "mostly": 0.888}]
    assert _find(proposed, "expect_column_values_to_not_be_null", "order_id") == [
        {"column": "order_id"}]
    assert _find(proposed, "expect_column_values_to_be_between", "amount") == [
        {"column": "amount", "min_value": -3.0, "max_value": 20.0}]
    assert _find(proposed, "expect_column_values_to_be_between", "pickup") == [
        {"column": "pickup", "min_value": 1, "max_value": 9}]
    assert _find(proposed, "expect_column_values_to_be_in_set", "category") == [
        {"column": "category", "value_set": ["books", "food", "toys"]}]
    # the non-null amounts are all distinct; order_id (O1) and customer_id (c1) repeat, and
    # customer_id has too many values for a set at max_categories=3
    assert _find(proposed, "expect_column_values_to_be_unique", "amount") == [
        {"column": "amount"}]
    assert _find(proposed, "expect_column_values_to_be_unique", "order_id") == []
    assert _find(proposed, "expect_column_values_to_be_unique", "customer_id") == []
    assert _find(proposed, "expect_column_values_to_be_in_set", "customer_id") == []
    stats = proposed["meta"]["profile"]["amount"]
    assert stats["null_ratio"] == pytest.approx(1 / 9, abs=1e-6)
    assert (stats["min"], stats["max"], stats["type"]) == (-3.0, 20.0, "double")


def test_profile_of_empty_frame_is_an_input_error(orders_df):
    with pytest.raises(QualityInputError, match="'orders'.*no rows"):
        profile(orders_df.limit(0), table="orders")


def test_profile_leaves_ingest_metadata_out_and_its_draft_passes(orders_df):
    from pyspark.sql import functions as F

    from quality import validate

    batch = (orders_df.withColumn("_run_id", F.lit("run-1"))
             .withColumn("_source_file", F.lit("file:/raw/orders/batch_1.json")))
    draft = profile(batch, table="orders", max_categories=3)
    # the next batch has another run id and file: neither may be pinned to a value
    assert _find(draft, "expect_column_values_to_be_in_set", "_run_id") == []
    assert _find(draft, "expect_column_values_to_be_in_set", "_source_file") == []
    assert _find(draft, "expect_column_values_to_be_of_type", "_run_id") == [
        {"column": "_run_id", "type_": "StringType"}]
    assert draft["expectations"][1] == {"expect_table_columns_to_match_set": {
        "column_set": orders_df.columns, "exact_match": False}}
    assert "dropped" not in draft["meta"]
    # drafted from `batch`, it passes on `batch`; and on the next batch of the same data
    assert validate(batch, draft).success
    nxt = batch.withColumn("_run_id", F.lit("run-2")).withColumn("_ingested_at",
                                                                 F.current_timestamp())
    assert validate(nxt, draft).success
