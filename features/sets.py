"""A feature set's input columns from the conf alone (no SparkSession, no data): what its
pipeline reads, so ``lakeprep validate`` can follow the spec's column flow statically.

>>> from lakeprep.config import load_settings
>>> settings = load_settings("local")
>>> columns, problems = set_columns("taxi_tips", settings.features.sets["taxi_tips"]
...                                 .model_dump(by_alias=True), settings.tables, "features.yaml")
>>> problems, "trip_distance" in columns, "tip_amount" in columns  # dropped by the set
([], True, False)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from features.rows import rows_columns
from features.snapshot import snapshot_columns
from lakeprep.config import TableSpec, declared_columns
from lakeprep.config.check import rows_source_problems, snapshot_source_problems
from lakeprep.config.sections import RowsSet, SnapshotSpec
from lakeprep.errors import Problem


def set_columns(name: str, entry: Any, tables: Mapping[str, TableSpec], file: str
                ) -> tuple[list[str], list[Problem]] | None:
    """The input columns of the set ``name`` (its conf ``entry``, as parsed YAML) and the
    problems of its source tables and columns, each naming ``file``; None when the set's shape
    does not validate (the loader says why)."""
    if not isinstance(entry, dict):
        return None
    key = f"features.sets.{name}"
    if entry.get("kind") == "entity_snapshot":
        try:
            snapshot = SnapshotSpec.model_validate(entry.get("snapshot"))
        except ValueError:
            return None
        return (snapshot_columns(snapshot),
                snapshot_source_problems(snapshot, tables, file, f"{key}.snapshot"))
    if entry.get("kind") == "rows":
        try:
            rows = RowsSet.model_validate(entry)
        except ValueError:
            return None
        source = tables.get(rows.source)
        record = declared_columns(source, tables, metadata=False) if source is not None else []
        return rows_columns(rows, record), rows_source_problems(rows, tables, file, key)
    return None
