"""One aggregation over a batch's parsed and ranked rows - the one that fills ingest's cache of
them: rows read, rejected and kept, the reasons grouped by column and code with examples, and
each JSON file's keys (grouped by file and key set, so only a handful of groups reach the
driver). The ingest job learns everything it counts before the gate from this one pass.

>>> from lakeprep.ingest.problems import PROBLEMS_TYPE
>>> rows = spark.createDataFrame([(1, []), (2, []), (1, [("not_a_double", "amount", "x", "m")])],
...                              f"rank int, _problems {PROBLEMS_TYPE}")
>>> t = tally(rows, "rank")
>>> (t.rows, t.rejected, t.kept), t.problems
((3, 1, 1), [('parse', 'amount', 'not_a_double', 1, ['x', 'x', 'x', 'x'])])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakeprep.ingest.columns import PROBLEMS, SOURCE_FILE
from lakeprep.ingest.problems import Group, example_aggregates, examples_of, level_of
from lakeprep.ingest.reader import KEYSET, file_keys


@dataclass(frozen=True)
class Tally:
    """What the one aggregation over a batch found."""

    rows: int
    rejected: int  # rows with reasons of their own (parse level)
    kept: int  # rows without reasons, first of their key (rank 1): what the gate sees
    problems: Sequence[Group]
    file_keys: dict[str, list[str]]  # JSON lines: each file's keys (else empty)


def tally(rows: DataFrame, rank: str) -> Tally:
    """Count and group ``rows`` (``_problems``, the ``rank`` among the good rows of their key,
    and for pending JSON lines ``_source_file`` and their key set) in one aggregation."""
    keyed = [SOURCE_FILE, KEYSET] if KEYSET in rows.columns else []
    got = (rows.select(*keyed, F.col(rank), F.posexplode_outer(PROBLEMS).alias("pos", "p"))
           .groupBy(*keyed, F.col("p.column").alias("column"), F.col("p.code").alias("code"))
           .agg(F.count(F.lit(1)).alias("n"),
                F.count(F.when(F.col("pos") == 0, F.lit(1))).alias("first"),
                F.count(F.when(F.col("pos").isNull() & (F.col(rank) == 1), F.lit(1)))
                .alias("kept"), *example_aggregates(F.col("p.value")))
           .collect())
    good = sum(int(r["n"]) for r in got if r["code"] is None)
    rejected = sum(int(r["first"]) for r in got if r["code"] is not None)
    problems: list[Group] = [(level_of(r["code"]), r["column"], r["code"], int(r["n"]),
                              examples_of(r)) for r in got if r["code"] is not None]
    return Tally(good + rejected, rejected, sum(int(r["kept"]) for r in got), problems,
                 file_keys((r[SOURCE_FILE], r[KEYSET]) for r in got) if keyed else {})
