"""``lakeprep validate``: every conf file, the catalog, every quality suite and the feature spec,
checked statically - no SparkSession, no JVM - with every problem listed at once.

What it checks, in order, each problem naming its file and key:

1. every conf file parses (YAML, ``${VAR}``) and the layered conf validates into its typed models
   (all of pydantic's errors, not only the first);
2. the catalog's cross-references (upstream tables, partition and key columns, ingest tables);
3. every quality suite: its shape, its table, each expectation compiled by Great Expectations
   (``quality.compile``) and the columns it reads against the table's declared columns;
4. every feature set: its source columns against the catalog (a snapshot's entity, attributes
   and aggregate columns; a rows set's dropped and time-filter columns), then every step (op,
   parameter names, values, column flow) through :func:`features.spec.check_feature_spec`,
   starting from the set's columns, which follow from the conf alone (a label expression is
   parsed only when the set is built: parsing Spark SQL needs the JVM).

>>> problems, summary = validate("local")
>>> problems, summary.endswith("feature steps: no problems")
([], True)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from features.rows import rows_columns
from features.snapshot import snapshot_columns
from features.spec import check_feature_spec
from lakeprep.config import TableSpec, declared_columns
from lakeprep.config.check import check_conf, rows_source_problems, snapshot_source_problems
from lakeprep.config.sections import RowsSet, SnapshotSpec
from lakeprep.config.suites import SuiteDeclaration
from lakeprep.errors import ConfigError, Problem
from quality.compile import check_expectations

log = logging.getLogger(f"lakeprep.{__name__}")

FEATURES_COL = "features"  # the vector column build_features writes (jobs.build_features)


def validate(env: str = "local", conf_dir: str | Path | None = None,
             environ: Mapping[str, str] | None = None,
             shown_as: str | None = None) -> tuple[list[Problem], str]:
    """Every problem of ``env``'s configuration, and a one-line summary; the files under
    ``conf_dir`` are named as under ``shown_as`` when given (a conf fetched from S3)."""
    check = check_conf(env, conf_dir, environ)
    layers, tables, problems = check.layers, check.tables, list(check.problems)
    merged, origin = layers.merged, layers.origin
    for name, data in sorted(layers.suites.items()):
        problems += _check_suite(name, layers.suite_files[name], data, tables, merged)
    steps = 0
    section = merged.get("features")
    sets = section.get("sets") if isinstance(section, dict) else None
    for name, entry in (sets.items() if isinstance(sets, dict) else ()):
        file = origin.get(("features", "sets", name), str(check.root))
        columns = _set_columns(name, entry, tables, file)
        if columns is None or not isinstance(entry.get("pipeline"), dict):
            continue  # the loader reports the set's shape; its column flow cannot be followed
        problems += columns[1]
        # checked on its own, so that a mistake elsewhere in the section hides none of the spec's
        steps += len(entry["pipeline"].get("steps") or [])
        problems += check_feature_spec(entry["pipeline"], columns[0], file,
                                       key=f"features.sets.{name}.pipeline")
    if shown_as is not None:
        local = str(check.root)
        problems = [Problem(p.file.replace(local, shown_as, 1), p.key, p.message)
                    for p in problems]
    summary = (f"conf ({env}): {len(layers.files)} files, {len(tables)} tables, "
               f"{len(layers.suites)} suites, {steps} feature steps: "
               + (f"{len(problems)} problem(s)" if problems else "no problems"))
    return problems, summary


def _set_columns(name: str, entry: Any, tables: Mapping[str, TableSpec], file: str
                 ) -> tuple[list[str], list[Problem]] | None:
    """A feature set's input columns (what its pipeline reads) and the problems of its source,
    from the conf alone; None when the set's shape does not validate (the loader says why)."""
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


def _check_suite(name: str, path: str, data: Any, tables: Mapping[str, TableSpec],
                 merged: Mapping[str, Any]) -> list[Problem]:
    try:
        decl = SuiteDeclaration.from_mapping(data, source=path)
    except ConfigError as err:
        return [Problem(path, "", str(err).removeprefix(f"{path}: "))]
    if decl.table not in tables:
        return [Problem(path, "table", f"no table named {decl.table!r} in the catalog; known "
                                       f"tables: {sorted(tables)}")]
    columns = declared_columns(tables[decl.table], tables)
    sets = (merged.get("features") or {}).get("sets") if isinstance(merged.get("features"),
                                                                    dict) else None
    for name, entry in (sets.items() if isinstance(sets, dict) and not columns else ()):
        if isinstance(entry, dict) and decl.table in (entry.get("table"),
                                                      entry.get("inference_table")):
            found = _set_columns(name, entry, tables, path)
            columns = [*found[0], FEATURES_COL] if found is not None else []
    return check_expectations(decl, columns, path)
