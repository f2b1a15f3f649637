"""Suite declarations compile to GE suites; every mistake is a ConfigError before Spark runs."""

from __future__ import annotations

import great_expectations as gx
import pytest

from lakeprep.errors import ConfigError
from quality import SuiteConfigError, SuiteDeclaration, compile_suite, run_gate
from quality.compile import is_row_level, require_predicates

SOURCE = "conf/base/quality/orders.yml"


def _suite(*items):
    return {"table": "orders", "expectations": list(items)}


def test_compiles_every_declared_expectation_in_order(orders_df, full_suite):
    suite = compile_suite(full_suite, schema=orders_df.schema, source=SOURCE)
    assert isinstance(suite, gx.ExpectationSuite)
    assert suite.name == "orders"
    assert [e.expectation_type for e in suite.expectations] == [
        next(iter(item)) for item in full_suite["expectations"]]
    between = suite.expectations[4]
    assert (between.column, between.min_value, between.mostly) == ("amount", 0, 0.8)
    assert suite.meta["source"] == SOURCE


def test_declaration_round_trips_to_yaml_shape(full_suite):
    decl = SuiteDeclaration.from_mapping(full_suite, SOURCE)
    assert decl.to_mapping() == full_suite
    assert decl.expectations[8].columns() == ["customer_id", "order_id"]
    assert decl.expectations[9].label() == (
        "expect_column_pair_values_a_to_be_greater_than_b(dropoff, pickup)")


def test_unknown_expectation_names_source_and_choices(orders_df):
    with pytest.raises(SuiteConfigError) as err:
        compile_suite(_suite({"expect_column_values_to_be_betwen": {"column": "amount"}}),
                      schema=orders_df.schema, source=SOURCE)
    message = str(err.value)
    assert SOURCE in message and "expectations[0]" in message
    assert "did you mean expect_column_values_to_be_between" in message
    assert "expect_compound_columns_to_be_unique" in message  # the valid choices are listed
    assert isinstance(err.value, ConfigError) and err.value.exit_code == 2


def test_bad_parameters_name_the_field_and_valid_parameters(orders_df):
    with pytest.raises(SuiteConfigError) as err:
        compile_suite(_suite({"expect_column_values_to_be_between":
                              {"column": "amount", "minimum": 0}}),
                      schema=orders_df.schema, source=SOURCE)
    message = str(err.value)
    assert "minimum" in message and "extra fields not permitted" in message
    assert "valid parameters:" in message and "min_value" in message and "mostly" in message


def test_missing_column_names_available_columns(orders_df):
    with pytest.raises(SuiteConfigError, match=r"\['amout'\] not in the DataFrame; "
                                               r"available columns: order_id"):
        compile_suite(_suite({"expect_column_values_to_not_be_null": {"column": "amout"}}),
                      schema=orders_df.schema, source=SOURCE)


def test_unknown_spark_type_and_bad_regex_are_rejected(orders_df):
    with pytest.raises(SuiteConfigError, match="names Spark type.*'Double'.*DoubleType"):
        compile_suite(_suite({"expect_column_values_to_be_of_type":
                              {"column": "amount", "type_": "Double"}}), schema=orders_df.schema)
    with pytest.raises(SuiteConfigError, match="invalid regex"):
        compile_suite(_suite({"expect_column_values_to_match_regex":
                              {"column": "order_id", "regex": "([0-9"}}))


@pytest.mark.parametrize("data, fragment", [
    ({"expectations": [{"expect_table_row_count_to_be_between": {"min_value": 1}}]},
     "table: Field required"),
    ({"table": "orders", "expectations": []}, "expectations: List should have at least 1"),
    ({"table": "orders", "expectations": [{"a": {}, "b": {}}]}, "one-key mapping"),
    ({"table": "orders", "expectations": [{"expect_x": [1]}]}, "must be a mapping"),
    (["not", "a", "mapping"], "a suite must be a mapping"),
])
def test_malformed_declarations(data, fragment):
    with pytest.raises(SuiteConfigError) as err:
        SuiteDeclaration.from_mapping(data, SOURCE)
    assert SOURCE in str(err.value) and fragment in str(err.value)


def test_row_condition_is_refused():
    with pytest.raises(SuiteConfigError, match="row_condition"):
        compile_suite(_suite({"expect_column_values_to_not_be_null":
                              {"column": "a", "row_condition": 'col("b")>0'}}))


def test_levels_of_expectations():
    assert is_row_level("expect_column_values_to_be_between")
    assert is_row_level("expect_compound_columns_to_be_unique")
    assert not is_row_level("expect_table_row_count_to_be_between")
    assert not is_row_level("expect_column_values_to_be_of_type")


def test_quarantine_refuses_row_expectations_it_cannot_tag(orders_df):
    decl = SuiteDeclaration.from_mapping(
        _suite({"expect_column_values_to_be_increasing": {"column": "pickup"}}), SOURCE)
    with pytest.raises(SuiteConfigError, match="cannot split rows on "
                                               "expect_column_values_to_be_increasing"):
        require_predicates(decl, SOURCE)


def test_unknown_policy_raises_before_any_job(orders_df, full_suite):
    with pytest.raises(SuiteConfigError, match="unknown gate policy 'drop'; valid choices: fail, "
                                               "quarantine, warn"):
        run_gate(orders_df, full_suite, policy="drop", source=SOURCE)
