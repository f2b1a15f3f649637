"""Small order tables and suites shared by the quality tests."""

from __future__ import annotations

import pytest

ORDERS_SCHEMA = ("order_id string, customer_id string, amount double, category string, "
                 "pickup int, dropoff int")

# Five good rows, then one row per kind of problem (marked in the comment).
ORDERS_ROWS = [
    ("O1", "c1", 10.0, "books", 1, 2),
    ("O2", "c1", 20.0, "toys", 2, 3),
    ("O3", "c2", 5.0, "books", 3, 3),
    ("O4", "c3", 7.5, "toys", 4, 9),
    ("O5", "c4", 0.0, "books", 5, 6),
    ("O6", "c5", -3.0, "books", 6, 7),   # amount below 0
    ("X7", "c6", 1.0, "food", 7, 8),     # bad id pattern, category outside the set
    ("O8", "c7", None, "toys", 9, 8),    # null amount, dropoff before pickup
    ("O1", "c8", 2.0, "toys", 1, 1),     # duplicate order_id
]

FULL_SUITE = {
    "table": "orders",
    "expectations": [
        {"expect_table_row_count_to_be_between": {"min_value": 1}},
        {"expect_table_columns_to_match_set": {"column_set": ["order_id", "amount"],
                                               "exact_match": False}},
        {"expect_column_values_to_be_of_type": {"column": "amount", "type_": "DoubleType"}},
        {"expect_column_values_to_not_be_null": {"column": "amount"}},
        {"expect_column_values_to_be_between": {"column": "amount", "min_value": 0,
                                                "mostly": 0.8}},
        {"expect_column_values_to_be_in_set": {"column": "category",
                                               "value_set": ["books", "toys"]}},
        {"expect_column_values_to_match_regex": {"column": "order_id", "regex": "^O[0-9]+$"}},
        {"expect_column_values_to_be_unique": {"column": "order_id"}},
        {"expect_compound_columns_to_be_unique": {"column_list": ["customer_id", "order_id"]}},
        {"expect_column_pair_values_a_to_be_greater_than_b": {
            "column_A": "dropoff", "column_B": "pickup", "or_equal": True}},
    ],
}


def local_frame(spark, rows, schema):
    """A DataFrame held by the JVM: later jobs need no Python workers to re-read the rows."""
    return spark.createDataFrame(rows, schema).localCheckpoint(eager=True)


@pytest.fixture(scope="session")
def orders_df(spark):
    return local_frame(spark, ORDERS_ROWS, ORDERS_SCHEMA)


@pytest.fixture(scope="session")
def good_orders_df(spark):
    return local_frame(spark, ORDERS_ROWS[:5], ORDERS_SCHEMA)


@pytest.fixture(scope="session")
def full_suite():
    return FULL_SUITE
