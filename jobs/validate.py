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

from features.sets import set_columns
from features.spec import check_feature_spec
from lakeprep.config import declared_columns
from lakeprep.config.check import check_conf
from lakeprep.config.sections import FEATURES_COL
from lakeprep.errors import Problem
from quality.compile import check_suite

log = logging.getLogger(f"lakeprep.{__name__}")


def validate(env: str = "local", conf_dir: str | Path | None = None,
             environ: Mapping[str, str] | None = None,
             shown_as: str | None = None) -> tuple[list[Problem], str]:
    """Every problem of ``env``'s configuration, and a one-line summary; the files under
    ``conf_dir`` are named as under ``shown_as`` when given (a conf fetched from S3)."""
    check = check_conf(env, conf_dir, environ)
    layers, tables, problems = check.layers, check.tables, list(check.problems)
    merged, origin = layers.merged, layers.origin
    section = merged.get("features")
    sets = section.get("sets") if isinstance(section, dict) else None
    sets = sets if isinstance(sets, dict) else {}

    def columns_of(table: str) -> list[str]:
        # a feature table is declared by its set: its input columns and the vector
        found = declared_columns(tables[table], tables)
        for name, entry in sets.items() if not found else ():
            if isinstance(entry, dict) and table in (entry.get("table"),
                                                     entry.get("inference_table")):
                columns = set_columns(name, entry, tables, "")
                found = [*columns[0], FEATURES_COL] if columns is not None else []
        return found

    for name, data in sorted(layers.suites.items()):
        problems += check_suite(layers.suite_files[name], data, tables, columns_of)
    steps = 0
    for name, entry in sets.items():
        file = origin.get(("features", "sets", name), str(check.root))
        columns = set_columns(name, entry, tables, file)
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
