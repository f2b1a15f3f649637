"""Reasons as data: each problem the reader finds has its code, column and value beside the
message; a message written before ``_problems`` existed reads back as the same problem; the
grouping is one row per level, column and code with at most three examples."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import functions as F

from lakeprep.config import ColumnSpec, SourceSpec, TableSpec
from lakeprep.ingest.columns import PROBLEMS, REASONS, SOURCE_FILE
from lakeprep.ingest.problems import (
    EXAMPLES,
    ProblemGroup,
    ProblemSummary,
    group_problems,
    problem_from_message,
)
from lakeprep.ingest.reader import read_raw
from lakeprep.storage import FileInfo

TS = '"order_ts": "2026-01-01T00:00:00Z"'
# line -> the (code, column, value) of each problem it has
ORDERS: list[tuple[bytes, list[tuple[str, str | None, str | None]]]] = [
    (b'{"order_id": "a", "amount": "12,50", ' + TS.encode() + b"}",
     [("not_a_double", "amount", "12,50")]),
    (b'{"order_id": "b", "amount": 1, "order_ts": "yesterday"}',
     [("not_a_timestamp", "order_ts", "yesterday")]),
    (b'{"amount": 1, ' + TS.encode() + b"}", [("missing_required", "order_id", None)]),
    (b'{"order_id": "d", "amount": 1', [("malformed_line", None, '{"order_id": "d", "amount": 1')]),
    (b'{"order_id": "e", "order_id": "e2", ' + TS.encode() + b"}",
     [("duplicate_key", None, "order_id")]),
    (b'{"order_id": "f", "Amount": 1, ' + TS.encode() + b"}", [("case_clash", "amount", "Amount")]),
    (b'{"order_id": "g", "a b": 1, ' + TS.encode() + b"}", [("unusable_name", None, "a b")]),
    (b'{"order_id": "h", "amount": "NaN", ' + TS.encode() + b"}",
     [("not_finite", "amount", "NaN")]),
    (b'{"order_id": "i", "order_ts": "1850-01-01T00:00:00Z"}',
     [("out_of_range", "order_ts", "1850-01-01T00:00:00Z")]),
    (b'{"order_id": "j", "note": "caf\xe9", ' + TS.encode() + b"}",
     [("invalid_utf8", None, '{"order_id": "j", "note": "caf\ufffd", ' + TS + "}")]),
    (b'{"amount": "x", "order_ts": "never"}',
     [("missing_required", "order_id", None), ("not_a_double", "amount", "x"),
      ("not_a_timestamp", "order_ts", "never")]),
    (b'{"order_id": "k", "amount": 2.5, ' + TS.encode() + b"}", []),
]
CSV = ["id,price,n", "p1,1.50,3", "p2,abc,4", "p3,2.00", 'p4,"3.00,5']
CSV_PROBLEMS = {"p1,1.50,3": [], "p2,abc,4": [("not_a_decimal", "price", "abc")],
                "p3,2.00": [("malformed_line", None, "p3,2.00")],
                # Spark's CSV parser reads on past the open quote: its field is checked too
                'p4,"3.00,5': [("malformed_line", None, 'p4,"3.00,5'),
                               ("not_a_decimal", "price", "3.00,5")]}


def _spec(fmt: str, folder: Path, columns: list[ColumnSpec]) -> TableSpec:
    return TableSpec(name="raw", layer="raw", location=str(folder),
                     source=SourceSpec(format=fmt, path=str(folder)), columns=columns)


def _read(spark, spec: TableSpec, path: Path):
    files = [FileInfo(f"file:{path}", path.stat().st_size, 0)]
    return read_raw(spark, spec, files, drift="evolve").rows


def _triples(problems) -> list[tuple[str, str | None, str | None]]:
    return [(p.code, p.column, p.value) for p in problems]


def test_each_reason_has_its_code_column_and_value(spark, tmp_path):
    (tmp_path / "o.jsonl").write_bytes(b"\n".join(line for line, _ in ORDERS) + b"\n")
    spec = _spec("json", tmp_path, [ColumnSpec(name="order_id", type="string", nullable=False),
                                    ColumnSpec(name="amount", type="double"),
                                    ColumnSpec(name="order_ts", type="timestamp",
                                               nullable=False)])
    rows = _read(spark, spec, tmp_path / "o.jsonl").collect()
    got = {bytes(r._raw_bytes or r._raw_record.encode()): r for r in rows}
    assert {line: _triples(got[line][PROBLEMS]) for line, _ in ORDERS} == dict(ORDERS)
    for r in rows:  # the messages are the problems' own, in the same order
        assert r[REASONS] == [p.message for p in r[PROBLEMS]]
    assert got[ORDERS[0][0]][REASONS] == ["amount: '12,50' is not a valid double"]

    (tmp_path / "c").mkdir()
    (tmp_path / "c/p.csv").write_text("\n".join(CSV) + "\n")
    spec = _spec("csv", tmp_path / "c", [ColumnSpec(name="id", type="string"),
                                         ColumnSpec(name="price", type="decimal(10,2)"),
                                         ColumnSpec(name="n", type="int")])
    rows = _read(spark, spec, tmp_path / "c/p.csv").collect()
    assert {r._raw_record: _triples(r[PROBLEMS]) for r in rows} == CSV_PROBLEMS


def test_old_messages_read_back_as_the_same_problems(spark, tmp_path):
    """Rows set aside before ``_problems`` existed keep only their messages: each message the
    reader writes parses back to its code and column (and the value it shows)."""
    (tmp_path / "o.jsonl").write_bytes(b"\n".join(line for line, _ in ORDERS) + b"\n")
    spec = _spec("json", tmp_path, [ColumnSpec(name="order_id", type="string", nullable=False),
                                    ColumnSpec(name="amount", type="double"),
                                    ColumnSpec(name="order_ts", type="timestamp",
                                               nullable=False)])
    found = (_read(spark, spec, tmp_path / "o.jsonl")
             .select(F.explode(PROBLEMS).alias("p")).select("p.*"))
    back = found.select("*", problem_from_message(F.col("message")).alias("old")).collect()
    assert len(back) == 13
    for r in back:
        assert (r.old.code, r.old.column, r.old.message) == (r.code, r.column, r.message), r
        # a field's message shows its value (up to 60 characters); a line's does not
        line_level = r.code in ("malformed_line", "invalid_utf8", "duplicate_key")
        assert r.old.value == (None if line_level else r.value), r

    gate = spark.createDataFrame(
        [("expect_column_values_to_be_between(amount)",),
         ("expect_compound_columns_to_be_unique(customer_id, order_ts)#4",),
         ("expect_table_row_count_to_be_between",), ("something else entirely",)], "m string")
    got = [(r.p.code, r.p.column, r.p.value) for r in
           gate.select(problem_from_message(F.col("m")).alias("p")).collect()]
    assert got == [("expectation:expect_column_values_to_be_between", "amount", None),
                   ("expectation:expect_compound_columns_to_be_unique",
                    "customer_id, order_ts", None),
                   ("expectation:expect_table_row_count_to_be_between", None, None),
                   ("other", None, None)]


def test_grouping_is_one_row_per_column_and_code_old_and_new_rows_alike(spark):
    """60 distinct bad timestamps are one group of 60 with three examples, whether the rows
    have ``_problems`` or only their messages (a table from before, evolved: the column null)."""
    old = [("f", [f"event_ts: '17799948{i:02d}' is not a valid timestamp"],
            None) for i in range(40)]
    old += [("f", ["amount: '45,60' is not a valid double"], None),
            ("f", ["expect_column_values_to_be_between(amount)"], None)]
    new = [("f", [f"event_ts: '17799949{i:02d}' is not a valid timestamp"],
            [("not_a_timestamp", "event_ts", f"17799949{i:02d}",
              f"event_ts: '17799949{i:02d}' is not a valid timestamp")]) for i in range(20)]
    new += [("f", ["expect_column_values_to_be_between(amount)"],
             [("expectation:expect_column_values_to_be_between", "amount", "-3.0",
               "expect_column_values_to_be_between(amount)")])]
    df = spark.createDataFrame(old + new, f"{SOURCE_FILE} string, {REASONS} array<string>, "
                               f"{PROBLEMS} array<struct<code:string,column:string,value:string,"
                               f"message:string>>")
    summary = group_problems(df)
    assert [(g.level, g.column, g.code, g.rows) for g in summary.groups] == [
        ("parse", "event_ts", "not_a_timestamp", 60),
        ("gate", "amount", "expectation:expect_column_values_to_be_between", 2),
        ("parse", "amount", "not_a_double", 1)]
    ts = summary.groups[0]
    assert len(ts.examples) == EXAMPLES and len(set(ts.examples)) == EXAMPLES
    assert all(e.startswith("177999") for e in ts.examples)
    assert summary.groups[1].examples == ("-3.0",)  # the old row's label holds no value
    assert summary.lines()[2] == "parse amount not_a_double: 1 row(s), e.g. '45,60'"

    cut = group_problems(df, top=1)
    assert (len(cut.groups), cut.more_groups, cut.more_rows) == (1, 2, 3)
    assert cut.lines()[-1] == "... 2 more group(s), 3 row(s)"
    assert ProblemSummary.from_dict(cut.to_dict()) == cut


def test_a_group_line_shows_long_values_cut():
    line = ProblemGroup("parse", None, "malformed_line", 2, ("x" * 100,)).line()
    assert line == f"parse - malformed_line: 2 row(s), e.g. '{'x' * 57}...'"
