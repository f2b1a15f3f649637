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

>>> problems, summary = validate("local")  # doctest: +SKIP
>>> summary  # doctest: +SKIP
'conf (local): 11 files, 6 tables, 6 suites, 11 feature steps: no problems'
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from lakeprep.config import (
    Settings,
    TableSpec,
    default_conf_dir,
    explain,
    load_settings,
    read_layers,
)
from lakeprep.config.sections import RowsSet, SnapshotSpec
from lakeprep.config.suites import SuiteDeclaration
from lakeprep.errors import ConfigError, Problem

log = logging.getLogger(f"lakeprep.{__name__}")

# columns every bronze table gets at ingest (jobs.ingest.METADATA_COLUMNS; not imported, as
# jobs.ingest pulls in the Spark job machinery this command must not load)
INGEST_COLUMNS = ("_source_file", "_ingested_at", "_run_id")
FEATURES_COL = "features"  # the vector column build_features writes (jobs.build_features)


def validate(env: str = "local", conf_dir: str | Path | None = None,
             environ: Mapping[str, str] | None = None) -> tuple[list[Problem], str]:
    """Every problem of ``env``'s configuration, and a one-line summary."""
    root = Path(conf_dir) if conf_dir is not None else default_conf_dir()
    layers = read_layers(env, root, environ, collect=True)
    problems = [_problem(message, root) for message in layers.problems]
    merged, origin, files = layers.merged, layers.origin, layers.files
    suites = {name: (layers.suite_files[name], data) for name, data in layers.suites.items()}
    settings = None
    try:
        settings = load_settings(env, root, environ)
    except ConfigError as err:
        # the loader stops at its first failing step: check each section on its own instead
        known = {p.message for p in problems}
        found = _section_problems(merged, origin, root) or _split(str(err), root)
        problems += [p for p in found if p.message not in known]
    tables = settings.tables if settings is not None else _tables(merged)
    for name, (suite_file, data) in sorted(suites.items()):
        problems += _check_suite(name, suite_file, data, tables, merged)
    steps = 0
    section = merged.get("features")
    sets = section.get("sets") if isinstance(section, dict) else None
    for name, entry in (sets.items() if isinstance(sets, dict) else ()):
        file = origin.get(("features", "sets", name), str(root))
        columns = _set_columns(name, entry, tables, file)
        if columns is None or not isinstance(entry.get("pipeline"), dict):
            continue  # the loader reports the set's shape; its column flow cannot be followed
        problems += columns[1]
        # checked on its own, so that a mistake elsewhere in the section hides none of the spec's
        from features.spec import check_feature_spec

        steps += len(entry["pipeline"].get("steps") or [])
        problems += check_feature_spec(entry["pipeline"], columns[0], file,
                                       key=f"features.sets.{name}.pipeline")
    summary = (f"conf ({env}): {len(files)} files, {len(tables)} tables, {len(suites)} suites, "
               f"{steps} feature steps: "
               + (f"{len(problems)} problem(s)" if problems else "no problems"))
    return problems, summary


_LINE = re.compile(r"(?P<file>[^:;]+?\.ya?ml|[^:;]+?/conf(?:/\w+)?)(?::\d+)?: (?P<rest>.*)", re.S)


def _problem(line: str, root: Path) -> Problem:
    """A loader message ``file: key: problem`` as a Problem."""
    m = _LINE.match(line.strip())
    if not m:
        return Problem(str(root), "", line.strip())
    rest = m.group("rest")
    key, _, message = rest.partition(": ")
    if not message or " " in key:
        return Problem(m.group("file"), "", rest)
    return Problem(m.group("file"), key, message)


def _split(message: str, root: Path) -> list[Problem]:
    # the loader joins its problems with "; ", each starting with a file under the conf root
    parts = re.split(rf"; (?={re.escape(str(root))})", message)
    return [_problem(p, root) for p in parts]


def _section_problems(merged: Mapping[str, Any], origin: dict[tuple[str, ...], str],
                      root: Path) -> list[Problem]:
    """Every section's validation problems, each section (and catalog entry) on its own."""
    problems = []
    for key, value in merged.items():
        if key == "tables" and isinstance(value, dict):
            for name, entry in value.items():
                if not isinstance(entry, dict):
                    problems.append(Problem(origin.get(("tables", name), str(root)),
                                            f"tables.{name}", f"expected a mapping, found "
                                            f"{type(entry).__name__}"))
                    continue
                model = create_model("Catalog", __config__=ConfigDict(extra="forbid"),
                                     tables=(dict[str, TableSpec], ...))
                entry = {"name": name, "location": "", **entry}
                problems += _validated(model, {"tables": {name: entry}}, origin, root)
            continue
        field = Settings.model_fields.get(key)
        if field is None or key in ("env", "conf_dir", "files", "conf_hash", "suites",
                                    "suite_files", "origins"):
            problems.append(Problem(origin.get((key,), str(root)), key, "unknown key"))
            continue
        fields: dict[str, Any] = {key: (field.annotation, ...)}
        model = create_model("Section", __config__=ConfigDict(extra="forbid"), **fields)
        problems += _validated(model, {key: value}, origin, root)
    return problems


def _validated(model: type[BaseModel], data: dict[str, Any],
               origin: dict[tuple[str, ...], str], root: Path) -> list[Problem]:
    try:
        model.model_validate(data)
    except ValidationError as err:
        return _split(explain(err, origin, root, data), root)
    return []


def _tables(merged: Mapping[str, Any]) -> dict[str, TableSpec]:
    """The catalog entries that validate on their own (when the whole conf does not)."""
    out = {}
    for name, entry in (merged.get("tables") or {}).items():
        if isinstance(entry, dict):
            try:
                out[name] = TableSpec.model_validate({"name": name, "location": "", **entry})
            except ValueError:
                continue  # reported by the loader
    return out


def declared_columns(table: TableSpec, tables: Mapping[str, TableSpec]) -> list[str]:
    """A table's columns as the catalog declares them: upstream's, its own, derived, ingest's."""
    upstream = tables.get(table.upstream or "")
    cols = [c.name for c in upstream.columns] if upstream is not None else []
    cols += [c.name for c in table.columns if c.pii != "drop"] + list(table.derive)
    if cols and table.layer == "bronze":
        cols += INGEST_COLUMNS
    return list(dict.fromkeys(cols))


def snapshot_columns(spec: SnapshotSpec) -> list[str]:
    """The snapshot's columns, from the ``features.snapshot`` section alone (see build_snapshot)."""
    from features.creation import PointInTimeAggregates
    from features.snapshot import SNAPSHOT_DATE

    cols = [spec.entity, *spec.attributes, *([spec.entity_since] if spec.entity_since else []),
            SNAPSHOT_DATE, *spec.derived]
    for agg in spec.aggregates:
        cols += PointInTimeAggregates.output_columns({
            "windows": agg.windows, "aggregations": agg.aggregations,
            "countPrefix": agg.count_prefix, "recencyCol": agg.recency or ""})
    if spec.label:
        cols.append(spec.label.name)
    return list(dict.fromkeys(cols))


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
                _check_snapshot(snapshot, tables, file, f"{key}.snapshot"))
    if entry.get("kind") == "rows":
        try:
            rows = RowsSet.model_validate(entry)
        except ValueError:
            return None
        return rows_columns(rows, tables), _check_rows(rows, tables, file, key)
    return None


def rows_columns(spec: RowsSet, tables: Mapping[str, TableSpec]) -> list[str]:
    """A ``rows`` set's columns (see features.rows.build_rows): id, snapshot date, the source
    table's declared columns less ``drop``, the label."""
    from features.snapshot import SNAPSHOT_DATE

    source = tables.get(spec.source)
    record = declared_columns(source, tables) if source is not None else []
    cols = [spec.row_id.name, SNAPSHOT_DATE,
            *[c for c in record if c not in spec.drop and c not in INGEST_COLUMNS]]
    if spec.label is not None:
        cols.append(spec.label.name)
    return list(dict.fromkeys(cols))


def _check_rows(spec: RowsSet, tables: Mapping[str, TableSpec], file: str, key: str
                ) -> list[Problem]:
    if spec.source not in tables:
        return []  # an unknown table is the loader's problem
    declared = declared_columns(tables[spec.source], tables)
    wanted = {f"{key}.drop": spec.drop}
    if spec.time_filter is not None:
        wanted[f"{key}.time_filter.column"] = [spec.time_filter.column]
    problems = []
    for where, columns in wanted.items():
        missing = [c for c in columns if c not in declared]
        if declared and missing:
            problems.append(Problem(file, where, f"column(s) {missing} not declared in table "
                                                 f"{spec.source!r}; declared: "
                                                 f"{', '.join(declared)}"))
    return problems


def _check_snapshot(spec: SnapshotSpec, tables: Mapping[str, TableSpec], source: str,
                    prefix: str = "features.snapshot") -> list[Problem]:
    problems = []

    def need(key: str, table: str, columns: list[str]) -> None:
        if table not in tables:
            return  # an unknown table is the loader's problem
        declared = declared_columns(tables[table], tables)
        missing = [c for c in columns if c not in declared]
        if declared and missing:
            problems.append(Problem(source, f"{prefix}.{key}",
                                    f"column(s) {missing} not declared in table {table!r}; "
                                    f"declared: {', '.join(declared)}"))

    since = [spec.entity_since] if spec.entity_since else []
    need("attributes", spec.entity_table, [spec.entity, *spec.attributes, *since])
    for i, agg in enumerate(spec.aggregates):
        need(f"aggregates[{i}]", agg.source, [spec.entity, agg.timestamp, *agg.aggregations])
    if spec.label:
        need("label", spec.label.source, [spec.entity, spec.label.timestamp])
    return problems


def _check_suite(name: str, path: str, data: Any, tables: Mapping[str, TableSpec],
                 merged: Mapping[str, Any]) -> list[Problem]:
    from pyspark.sql import types as T

    from quality.compile import check_columns, compile_expectation

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
    schema = T.StructType([T.StructField(c, T.StringType()) for c in columns])
    problems = []
    for i, item in enumerate(decl.expectations):
        where = f" (expectations[{i}] {item.type})"
        try:
            compile_expectation(item, path, where)
            if columns:
                check_columns(item, schema, path, where)
        except ConfigError as err:
            message = str(err).removeprefix(f"{path}{where}: ")
            problems.append(Problem(path, f"expectations[{i}] {item.type}", message))
    return problems
