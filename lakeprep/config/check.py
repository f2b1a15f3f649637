"""The conf checked as a whole, every problem at once, each with its file and key: what
``lakeprep validate`` reports before the checks that need the feature and quality libraries
(``jobs.validate`` adds those). No SparkSession, no JVM.

>>> check = check_conf("local")
>>> [str(p) for p in check.problems], sorted(check.tables)[:2]
([], ['customer_features', 'customer_features_inference'])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from lakeprep.config import (
    ConfLayers,
    Settings,
    TableSpec,
    declared_columns,
    default_conf_dir,
    explain,
    load_settings,
    read_layers,
)
from lakeprep.config.sections import RowsSet, SnapshotSpec
from lakeprep.errors import ConfigError, Problem

# keys of Settings that are not conf sections
_DERIVED = ("env", "conf_dir", "files", "conf_hash", "suites", "suite_files", "origins")


@dataclass
class ConfCheck:
    """One environment's conf, read and checked: ``settings`` when it loads, else None."""

    root: Path
    layers: ConfLayers
    settings: Settings | None
    tables: dict[str, TableSpec]  # the catalog entries that validate (all of them when it loads)
    problems: list[Problem] = field(default_factory=list)


def check_conf(env: str = "local", conf_dir: str | Path | None = None,
               environ: Mapping[str, str] | None = None) -> ConfCheck:
    """Read and validate ``env``'s conf, going on after a problem to find the others: each
    file on its own, then each section and catalog entry on its own."""
    root = Path(conf_dir) if conf_dir is not None else default_conf_dir()
    layers = read_layers(env, root, environ, collect=True)
    problems = list(layers.problems)
    settings = None
    try:
        settings = load_settings(env, root, environ)
    except ConfigError as err:
        # the loader stops at its first failing step: check each section on its own instead
        found = _section_problems(layers.merged, layers.origin, root) or err.problems or [
            Problem(str(root), "", str(err))]
        problems += [p for p in found if p not in problems]
    tables = dict(settings.tables) if settings is not None else _tables(layers.merged)
    return ConfCheck(root, layers, settings, tables, problems)


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
        known = Settings.model_fields.get(key)
        if known is None or key in _DERIVED:
            problems.append(Problem(origin.get((key,), str(root)), key, "unknown key"))
            continue
        fields: dict[str, Any] = {key: (known.annotation, ...)}
        model = create_model("Section", __config__=ConfigDict(extra="forbid"), **fields)
        problems += _validated(model, {key: value}, origin, root)
    return problems


def _validated(model: type[BaseModel], data: dict[str, Any],
               origin: dict[tuple[str, ...], str], root: Path) -> list[Problem]:
    try:
        model.model_validate(data)
    except ValidationError as err:
        return explain(err, origin, root, data)
    return []


def _tables(merged: Mapping[str, Any]) -> dict[str, TableSpec]:
    """The catalog entries that validate on their own (when the whole conf does not)."""
    out = {}
    for name, entry in (merged.get("tables") or {}).items():
        if isinstance(entry, dict):
            try:
                out[name] = TableSpec.model_validate({"name": name, "location": "", **entry})
            except ValueError:
                continue  # reported with the section's problems
    return out


def rows_source_problems(spec: RowsSet, tables: Mapping[str, TableSpec], file: str, key: str
                         ) -> list[Problem]:
    """A ``rows`` set's columns (``drop``, the time filter) against its source's declared ones."""
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


def snapshot_source_problems(spec: SnapshotSpec, tables: Mapping[str, TableSpec], source: str,
                             prefix: str = "features.snapshot") -> list[Problem]:
    """A snapshot's entity, attribute, aggregate and label columns against their tables."""
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
