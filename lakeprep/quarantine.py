"""The one writer of quarantine tables (``<table>_quarantine``): the records ingest could not
parse, the rows a ``quarantine`` gate split off, and the replay that lets records that now pass
leave. Every write is one Delta commit whose metadata groups the reasons of its rows.

Example::

    version = set_aside(ctx, "orders", bad_rows, ["_source_file", "_raw_record"],
                        {"quarantined": 105}, problems=summarize(groups))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from lakeprep.ingest.problems import ProblemSummary
from lakeprep.lake import LakeTable
from lakeprep.runtime import JobContext

OCCURRENCE = "_occurrence"


def set_aside(ctx: JobContext, table: str, rows: DataFrame, keys: Sequence[str],
              counts: dict[str, int], inputs: list[dict[str, Any]] | None = None,
              partition_by: Sequence[str] = (), problems: ProblemSummary | None = None
              ) -> int | None:
    """Merge ``rows`` into ``<table>_quarantine`` (with :func:`resettle`, the one writer of a
    quarantine table: ingest's parse rejects, rows a `quarantine` gate split off); its new
    version. The commit's metadata holds ``problems``, the reasons of ``rows`` grouped.

    Idempotent: a row already there under ``keys`` is left alone, so a re-run of the same batch
    adds nothing; identical rows of one batch stay distinct (numbered by ``_occurrence``).
    """
    w = Window.partitionBy(*[F.col(f"`{k}`") for k in keys]).orderBy(F.lit(1))
    rows = rows.withColumn(OCCURRENCE, F.row_number().over(w))
    spec = ctx.spec(table)
    meta = ctx.commit_metadata(table=spec.quarantine_name, source_table=table, inputs=inputs,
                               counts=counts, **_problems(problems))
    return quarantine_table(ctx, table, partition_by).merge(
        rows, [*keys, OCCURRENCE], meta, when_matched="ignore", evolve=True).version


def resettle(ctx: JobContext, table: str, changed: DataFrame | None, gone: DataFrame | None,
             keys: Sequence[str], counts: dict[str, int],
             inputs: list[dict[str, Any]] | None = None,
             partition_by: Sequence[str] = (), problems: ProblemSummary | None = None
             ) -> int | None:
    """After a replay of ``<table>_quarantine``: the records still set aside take their new
    reasons (``changed``; a table from before reasons were data gains ``_problems``), the others
    leave it (``gone``: promoted, or duplicates); the quarantine table's new version, or None
    when nothing changed. ``problems``: the reasons of the records still set aside, grouped."""
    quarantine = quarantine_table(ctx, table, partition_by)
    meta = ctx.commit_metadata(table=ctx.spec(table).quarantine_name, source_table=table,
                               inputs=inputs, counts=counts, **_problems(problems))
    version = None
    if changed is not None and not changed.isEmpty():
        version = quarantine.merge(changed, list(keys), meta, when_matched="update",
                                   evolve=True).version
    if gone is not None:
        version = quarantine.delete(gone, list(keys), meta).version
    return version


def quarantine_table(ctx: JobContext, table: str, partition_by: Sequence[str] = ()
                     ) -> LakeTable:
    """The quarantine table of ``table`` (``TableSpec.quarantine_location``)."""
    return ctx.table_at(ctx.spec(table).quarantine_location, list(partition_by))


def _problems(problems: ProblemSummary | None) -> dict[str, Any]:
    """What a quarantine commit's metadata says of the reasons of its rows."""
    return {"problems": problems.to_dict()} if problems else {}
