"""Layered YAML configuration: ``conf/base`` then ``conf/<env>``, key by key, validated by pydantic.

Every YAML file of a folder contributes its top-level keys (two files of one folder may not define
the same key). ``conf/<env>`` overrides ``conf/base`` key by key (dicts merge, anything else
replaces); ``key: __delete__`` removes a base key and ``key!: {...}`` replaces a base mapping
whole instead of merging into it. ``${VAR}`` and ``${VAR:-default}`` are replaced from the
environment. Any error names the file and the key:

    conf/local/catalog.yaml: tables.orders.partition_by: Input should be a valid list

>>> settings = load_settings("local")
>>> settings.table("orders").location.endswith("/bronze/orders")
True
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lakeprep.config.sections import (
    DeploySettings,
    ExportSettings,
    FeatureSet,
    FeaturesSettings,
    LineageSettings,
)
from lakeprep.config.suites import SuiteDeclaration
from lakeprep.errors import ConfigError, Problem, UsageError
from lakeprep.ingest.columns import METADATA_COLUMNS
from lakeprep.uris import absolute, is_remote, join_uri, local_path

ENVIRONMENTS = ("local", "emr", "glue")
LAYERS = ("raw", "bronze", "features", "exports")
# the default conf: beside the lakeprep package, in a checkout and in an installed wheel alike
SHIPPED_CONF = Path(__file__).resolve().parents[2] / "conf"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnSpec(_Model):
    """One column of a declared schema."""

    name: str
    type: str = Field(description="Spark SQL type: string, int, bigint, double, decimal(10,2), "
                                  "date, timestamp, boolean")
    nullable: bool = True
    pii: Literal["hash", "drop"] | None = None
    format: str | None = Field(default=None, description="datetime pattern for parsing text")
    description: str | None = None
    source: list[str] = Field(default_factory=list, description="other names (aliases) the "
                              "column has in raw files; its own name always matches too")
    expr: str | None = Field(default=None, description="Spark SQL expression over the raw text "
                             "of the declared columns (by their names); its result is parsed "
                             "as this column's type")

    @field_validator("source", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @property
    def names(self) -> list[str]:
        """The names this column is found under in raw files: its own, then its aliases."""
        return list(dict.fromkeys([self.name, *self.source]))


class SourceSpec(_Model):
    """Where a raw table's files are and how to parse them."""

    format: Literal["csv", "json", "parquet"]
    path: str = Field(description="file, folder or glob; local or s3://")
    options: dict[str, str] = Field(default_factory=dict)
    case_insensitive: bool = Field(default=False, description="match headers/keys to column "
                                   "names and aliases ignoring case")


class TableSpec(_Model):
    """A catalog entry. Code refers to tables by name, never by path."""

    name: str
    layer: Literal["raw", "bronze", "features", "exports"]
    location: str
    description: str | None = None
    source: SourceSpec | None = None  # raw tables: their files
    upstream: str | None = None  # bronze tables: the raw table they ingest
    columns: list[ColumnSpec] = Field(default_factory=list)
    derive: dict[str, str] = Field(default_factory=dict, description="column: Spark SQL expr")
    partition_by: list[str] = Field(default_factory=list)
    primary_key: list[str] = Field(default_factory=list)
    order_by: str | None = Field(default=None, description="newest record wins on a key clash")
    schema_drift: Literal["fail", "ignore", "evolve"] = "fail"
    max_new_columns: int = Field(default=50, ge=0, description="schema_drift: evolve adds at "
                                 "most this many columns in one batch; more fail the batch")
    quality_suite: str | None = None
    gate: Literal["fail", "quarantine", "warn"] = "fail"

    @model_validator(mode="after")
    def _one_column_per_name(self) -> TableSpec:
        # a raw name may lead to one declared column only, else a file's field is ambiguous
        fold = self.source is not None and self.source.case_insensitive
        owner: dict[str, str] = {}
        for c in self.columns:
            for n in c.names:
                key = n.lower() if fold else n
                if owner.get(key, c.name) != c.name:
                    raise ValueError(f"columns.{c.name}.source: {n!r} is also a name of the "
                                     f"column {owner[key]!r}; a raw name may map to one column")
                owner[key] = c.name
        return self

    @property
    def quarantine_name(self) -> str:
        return f"{self.name}_quarantine"

    @property
    def quarantine_location(self) -> str:
        """Where the rows this table's ingest or gate set aside are kept."""
        return f"{self.location.rstrip('/')}_quarantine"


class SparkSettings(_Model):
    master: str | None = None
    app_name: str = "lakeprep"
    delta_packages: bool = False
    conf: dict[str, str] = Field(default_factory=dict)

    @field_validator("conf", mode="before")
    @classmethod
    def _stringify(cls, v: Any) -> Any:
        # YAML turns `4` and `false` into int/bool; Spark wants strings
        if isinstance(v, Mapping):
            return {k: str(x).lower() if isinstance(x, bool) else str(x) for k, x in v.items()}
        return v


class S3Settings(_Model):
    """``s3:``: how every S3 client lakeprep makes reaches S3 - Spark (s3a), deltalake and
    pyarrow all derive their settings from this one block (``lakeprep.storage.S3Access``).

    Leave ``endpoint`` empty for AWS itself; set it (with ``path_style: true``) for a local
    S3-compatible endpoint (MinIO, moto, LocalStack). Credentials never go in conf: the standard
    AWS chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, a profile, the instance role).
    """

    endpoint: str | None = None
    region: str | None = None
    path_style: bool | None = Field(default=None, description="path-style requests "
                                    "(http://host/bucket/key); default: true with an endpoint")

    @field_validator("endpoint", "region", "path_style", mode="before")
    @classmethod
    def _empty_is_unset(cls, v: Any) -> Any:
        return None if v == "" else v

    @field_validator("endpoint")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from urllib.parse import urlparse

        u = urlparse(v)
        if u.scheme not in ("http", "https") or not u.netloc:
            raise ValueError(f"expected an http(s)://host:port URL, found {v!r}")
        return v.rstrip("/")


class LakeSettings(_Model):
    engine: Literal["auto", "deltalake", "delta-spark"] = "auto"
    layers: dict[str, str]
    system: str = Field(description="folder of lakeprep's own tables (ingest log)")
    storage_options: dict[str, str] = Field(default_factory=dict)

    @field_validator("layers")
    @classmethod
    def _known_layers(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(v) - set(LAYERS))
        if unknown:
            raise ValueError(f"unknown layer(s) {unknown}; valid layers: {list(LAYERS)}")
        # recorded paths (models, inputs) must not depend on the directory a job ran from
        return {k: absolute(p) for k, p in v.items()}

    @field_validator("system")
    @classmethod
    def _absolute_system(cls, v: str) -> str:
        return absolute(v) if v else v


class IngestSettings(_Model):
    tables: list[str] = Field(default_factory=list, description="bronze tables run by default")
    pii_salt_env: str = "LAKEPREP_PII_SALT"
    pii_salt_secret: str | None = Field(
        default=None, description="Secrets Manager name/ARN or ssm:/parameter holding the salt, "
        "read at run time when the pii_salt_env variable is not set")

    @field_validator("pii_salt_secret")
    @classmethod
    def _empty_is_unset(cls, v: str | None) -> str | None:
        return v or None


class Settings(_Model):
    """Everything a job needs, validated. ``conf_hash`` identifies the effective configuration."""

    env: str
    conf_dir: str
    files: list[str]
    conf_hash: str
    spark: SparkSettings = SparkSettings()
    lake: LakeSettings
    s3: S3Settings = S3Settings()
    ingest: IngestSettings = IngestSettings()
    tables: dict[str, TableSpec]
    features: FeaturesSettings | None = None
    export: ExportSettings = ExportSettings()
    lineage: LineageSettings = LineageSettings()
    deploy: DeploySettings = DeploySettings()
    suites: dict[str, SuiteDeclaration] = Field(
        default_factory=dict, description="quality suites from <conf>/<env>/quality/*.yaml")
    suite_files: dict[str, str] = Field(default_factory=dict)
    origins: dict[str, str] = Field(default_factory=dict,
                                    description="dotted key -> the file that set it last")

    @model_validator(mode="after")
    def _check_references(self) -> Settings:
        for t in self.tables.values():
            if t.upstream is not None and t.upstream not in self.tables:
                raise ValueError(f"tables.{t.name}.upstream: no table named {t.upstream!r}; "
                                 f"known tables: {sorted(self.tables)}")
            if t.layer == "raw" and t.source is None:
                raise ValueError(f"tables.{t.name}.source: a raw table needs a source")
            known = {c.name for c in self.tables[t.upstream].columns} if t.upstream else set()
            known |= {c.name for c in t.columns} | set(t.derive)
            if not known:
                continue  # a job decides the schema (feature tables): nothing to check against
            for key in ("partition_by", "primary_key"):
                missing = [c for c in getattr(t, key) if c not in known]
                if missing:
                    raise ValueError(f"tables.{t.name}.{key}: column(s) {missing} not declared; "
                                     f"declared: {sorted(known)}")
        for name in self.ingest.tables:
            if name not in self.tables:
                raise ValueError(f"ingest.tables: no table named {name!r}")
        # sections a conf declares must name catalog tables (defaults are not checked)
        named = ([("export.source_table", self.export.source_table)]
                 if "export" in self.model_fields_set else [])
        if self.features is not None:
            named += [(f"features.{key}", t) for key, t in self.features.tables()]
        for key, name in named:
            if name not in self.tables:
                raise ValueError(f"{key}: no table named {name!r} in the catalog; known "
                                 f"tables: {sorted(self.tables)}")
        return self

    def source_pattern(self, raw: TableSpec) -> str:
        """The raw table's file glob; a relative ``source.path`` is under the raw layer."""
        if raw.source is None:
            raise ConfigError(f"{self.where('tables', raw.name)}: tables.{raw.name}: not a raw "
                              f"table (no source)")
        path = raw.source.path
        if is_remote(path) or os.path.isabs(local_path(path)):
            return path
        root = self.lake.layers.get("raw")
        if not root:
            raise ConfigError(f"tables.{raw.name}.source.path is relative ({path!r}) but "
                              f"lake.layers.raw is not set")
        return f"{root.rstrip('/')}/{path}"

    def require_features(self) -> FeaturesSettings:
        """The ``features`` section, or an error saying where it belongs."""
        if self.features is None:
            raise ConfigError(f"{self.conf_dir}: no `features:` section (conf/base/features.yaml "
                              f"declares the feature sets)")
        return self.features

    def feature_sets(self, name: str | None = None) -> dict[str, FeatureSet]:
        """Every feature set, or only ``name`` (an error listing the valid ones otherwise)."""
        sets = self.require_features().sets
        if name is None:
            return dict(sets)
        if name not in sets:
            raise UsageError(f"--set {name}: no feature set named {name!r} in "
                             f"{self.where('features', 'sets')}; valid sets: "
                             f"{', '.join(sorted(sets))}")
        return {name: sets[name]}

    def export_for(self, feature_set: str | None) -> ExportSettings:
        """The ``export`` section, pointed at ``feature_set``'s table when one is named.

        The section's label and entity hold for its own ``source_table``; another set's table
        exports with that set's label and row id.
        """
        cfg = self.export
        if feature_set is None:
            return cfg
        fs = self.feature_sets(feature_set)[feature_set]
        if fs.table == cfg.source_table:
            return cfg
        return cfg.model_copy(update={"source_table": fs.table, "label": fs.label_name,
                                      "entity": fs.id_column})

    def export_root(self, cfg: ExportSettings, run_id: str) -> str:
        """Where run ``run_id`` exports ``cfg``: ``export.output``, else
        ``<lake.layers.exports>/<source table>/<run id>``."""
        if cfg.output:
            return absolute(cfg.output)
        layer = self.lake.layers.get("exports")
        if not layer:
            raise ConfigError(f"{self.where('export', 'output')}: export.output: not "
                              f"set and lake.layers.exports is not configured; set one of them")
        return join_uri(absolute(layer), f"{cfg.source_table}/{run_id}")

    def table(self, name: str) -> TableSpec:
        """The catalog entry ``name``, or an error listing the known tables."""
        try:
            return self.tables[name]
        except KeyError:
            raise ConfigError(
                f"no table named {name!r} in the catalog ({self.conf_dir}); "
                f"known tables: {', '.join(sorted(self.tables))}"
            ) from None

    def declared_columns(self, name: str, metadata: bool = True) -> list[str]:
        """The columns the catalog declares for table ``name`` (see :func:`declared_columns`)."""
        return declared_columns(self.table(name), self.tables, metadata)

    def bronze_tables(self, names: Sequence[str] | None = None) -> list[TableSpec]:
        """The tables ingest writes: ``names``, else ``ingest.tables``, else every table with an
        upstream raw table; an error naming a table that has none.

        >>> [t.name for t in load_settings("local").bronze_tables(["orders"])]
        ['orders']
        """
        names = names or self.ingest.tables or [
            t.name for t in self.tables.values() if t.upstream]
        out = []
        for name in names:
            spec = self.table(name)
            if not spec.upstream:
                ingestible = sorted(t.name for t in self.tables.values() if t.upstream)
                raise ConfigError(f"tables.{name}: has no upstream raw table, so it cannot be "
                                  f"ingested; ingestible tables: {ingestible}")
            out.append(spec)
        return out

    def suite_for(self, table: str, suite: str | None = None
                  ) -> tuple[SuiteDeclaration, str] | None:
        """The quality suite that gates ``table`` (or the one named ``suite``) and the file it
        came from, or None (no gate): the catalog's ``quality_suite``, else the suite named
        like the table."""
        name = suite or self.table(table).quality_suite or table
        declared = self.suites.get(name)
        if declared is None:
            return None
        return declared, self.suite_files.get(name, f"<suite {name}>")

    def may_quarantine(self, table: str) -> bool:
        """True when ``table`` has a gate that may set rows aside (a suite, policy
        `quarantine`)."""
        return self.suite_for(table) is not None and self.table(table).gate == "quarantine"

    def models_root(self, fs: FeatureSet) -> str:
        """Where a feature set's pipeline models are saved, one folder per run."""
        root = self.lake.layers.get("features")
        if not root:
            raise ConfigError(f"{self.where('lake', 'layers')}: lake.layers.features is not "
                              f"set; the pipeline model is saved there")
        return f"{root.rstrip('/')}/{self.require_features().models_folder}/{fs.table}"

    def system_table(self, name: str) -> str:
        return _join(self.lake.system, name)

    def lake_tables(self, table: str | None = None) -> list[tuple[str, str]]:
        """(name, location) of ``table`` and its quarantine table, or of every table the lake
        holds (every non-raw table, its quarantine, and the ingest log)."""
        names = [table] if table else [s.name for s in self.tables.values() if s.layer != "raw"]
        targets = []
        for name in names:
            spec = self.table(name)
            targets += [(name, spec.location), (spec.quarantine_name, spec.quarantine_location)]
        if not table and self.lake.system:
            targets.append(("ingest_log", self.system_table("ingest_log")))
        return targets

    def where(self, *key: str) -> str:
        """The conf file that set ``key`` (or its nearest parent; env files win over base).

        >>> load_settings("local").where("export", "split", "seed").endswith("base/export.yaml")
        True
        """
        for n in range(len(key), 0, -1):
            found = self.origins.get(".".join(key[:n]))
            if found:
                return found
        return self.conf_dir


def declared_columns(table: TableSpec, tables: Mapping[str, TableSpec],
                     metadata: bool = True) -> list[str]:
    """A table's columns as the catalog declares them: its upstream (raw) table's, its own and
    its derived ones, without the ``pii: drop`` columns (they never land), then, for a bronze
    table, the ingest metadata columns unless ``metadata`` is False."""
    upstream = tables.get(table.upstream or "")
    cols = [c.name for c in upstream.columns if c.pii != "drop"] if upstream is not None else []
    cols += [c.name for c in table.columns if c.pii != "drop"] + list(table.derive)
    if cols and metadata and table.layer == "bronze":
        cols += METADATA_COLUMNS
    return list(dict.fromkeys(cols))


def default_conf_dir() -> Path:
    """``$LAKEPREP_CONF_DIR``, else ``./conf``, else the conf shipped beside the package.

    The shipped conf is the folder next to the ``lakeprep`` package: the checkout's ``conf/`` in a
    source tree, ``site-packages/conf`` when installed from the wheel (pyproject ships it there).
    """
    if os.environ.get("LAKEPREP_CONF_DIR"):
        return Path(os.environ["LAKEPREP_CONF_DIR"])
    if Path("conf/base").is_dir():
        return Path("conf")
    return SHIPPED_CONF


def load_settings(env: str = "local", conf_dir: str | Path | None = None,
                  environ: Mapping[str, str] | None = None,
                  shown_as: str | None = None) -> Settings:
    """Read, layer, interpolate and validate the configuration of ``env``.

    ``conf_dir`` (else ``$LAKEPREP_CONF_DIR``, ``./conf``, the shipped conf) is a local folder. A
    conf on S3 or in a ``.zip`` is fetched into a folder first by
    :func:`lakeprep.aws.confsource.load_settings` (the CLI does it for ``--conf-dir``); that
    folder's files are then named as under ``shown_as``, in the settings and in every error.
    """
    where = str(conf_dir) if conf_dir is not None else str(default_conf_dir())
    if is_remote(where) or where.endswith(".zip"):
        raise ConfigError(f"{where}: a conf on S3 or in a .zip is fetched first: "
                          f"lakeprep.aws.confsource.load_settings (the CLI's --conf-dir does it)")
    if shown_as is None:
        return _load(env, Path(where), environ)
    try:
        settings = _load(env, Path(where), environ)
    except ConfigError as e:
        raise ConfigError(problems=[Problem(p.file.replace(where, shown_as, 1), p.key, p.message)
                                    for p in e.problems]) if e.problems else e from None
    return _relocated(settings, where, shown_as)


def _relocated(settings: Settings, local: str, uri: str) -> Settings:
    """``settings`` loaded from ``local`` with its file names given as under ``uri``."""
    def at(path: str) -> str:
        return path.replace(local, uri, 1)

    return settings.model_copy(update={
        "conf_dir": uri, "files": [at(f) for f in settings.files],
        "suite_files": {k: at(v) for k, v in settings.suite_files.items()},
        "origins": {k: at(v) for k, v in settings.origins.items()}})


@dataclass
class ConfLayers:
    """One environment's conf read and layered (``base`` then ``<env>``), not validated yet."""

    merged: dict[str, Any] = field(default_factory=dict)
    origin: dict[tuple[str, ...], str] = field(default_factory=dict)  # key path -> its file
    files: list[str] = field(default_factory=list)  # every file read, suites included
    suites: dict[str, Any] = field(default_factory=dict)  # table -> merged suite mapping
    suite_files: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)  # ``collect``: what could not be read


def read_layers(env: str, root: Path, environ: Mapping[str, str] | None = None, *,
                collect: bool = False) -> ConfLayers:
    """Read and layer ``root/base`` and ``root/<env>``; the first step of `load_settings`.

    A file that cannot be read (bad YAML, an unset variable, a key two files define) raises
    ConfigError, or with ``collect`` is skipped and its message appended to ``problems`` so that
    `lakeprep validate` can go on and report every problem at once.
    """
    environ = os.environ if environ is None else environ
    out = ConfLayers()

    def failed(problems: Sequence[Problem]) -> None:
        if not collect:
            raise ConfigError(problems=problems)
        out.problems += problems

    if not (root / "base").is_dir():
        failed([Problem(f"{root}/base", "", "configuration folder not found (pass --conf-dir "
                                            "or set LAKEPREP_CONF_DIR)")])
        return out
    if not (root / env).is_dir():
        envs = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name != "base")
        failed([Problem(f"{root}/{env}", "", f"no such environment; environments: {envs}")])
        return out
    for folder in (root / "base", root / env):
        layer_origin: dict[tuple[str, ...], str] = {}
        layer, layer_files = _read_folder(folder, layer_origin, environ, failed)
        removed: list[tuple[str, ...]] = []
        out.merged = _merge(out.merged, layer, removed=removed)
        # a deleted or replaced key no longer comes from the file that set it before
        out.origin = {k: v for k, v in out.origin.items()
                      if not any(k[:len(r)] == r for r in removed)}
        out.origin.update(layer_origin)
        out.files += layer_files
        # one quality suite per file: <folder>/quality/<table>.yaml
        for path in sorted((folder / "quality").glob("*.y*ml")):
            out.files.append(str(path))
            try:
                data = _read_yaml(path, environ)
            except ConfigError as e:
                failed(e.problems)
                continue
            out.suites[path.stem] = _merge(out.suites.get(path.stem, {}), data)
            out.suite_files[path.stem] = str(path)
    return out


def _load(env: str, root: Path, environ: Mapping[str, str] | None) -> Settings:
    layers = read_layers(env, root, environ)
    merged, suites, suite_files = layers.merged, layers.suites, layers.suite_files
    settings = _validate(merged, env, root, layers.files, layers.origin, conf_hash(layers))
    declared = {}
    for name, data in suites.items():
        suite = SuiteDeclaration.from_mapping(data, source=suite_files[name])
        if suite.table not in settings.tables:
            raise ConfigError(problems=[Problem(suite_files[name], "table", f"no table named "
                                                f"{suite.table!r} in the catalog; known tables: "
                                                f"{sorted(settings.tables)}")])
        declared[name] = suite
    return settings.model_copy(update={"suites": declared, "suite_files": suite_files})


def conf_hash(layers: ConfLayers) -> str:
    """What a run computes with, as 16 hex digits: every section and suite but ``deploy``
    (which says where a job runs, not what it computes)."""
    computed = {k: v for k, v in layers.merged.items() if k != "deploy"}
    return hashlib.sha256(json.dumps([computed, layers.suites], sort_keys=True, default=str)
                          .encode()).hexdigest()[:16]


def _read_folder(folder: Path, origin: dict[tuple[str, ...], str], environ: Mapping[str, str],
                 failed: Callable[[Sequence[Problem]], None]) -> tuple[dict[str, Any], list[str]]:
    out: dict[str, Any] = {}
    owner: dict[str, str] = {}
    paths = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
    for path in paths:
        try:
            data = _read_yaml(path, environ)
        except ConfigError as e:
            failed(e.problems)
            continue
        for key, value in data.items():
            name = _plain(key)
            if name in owner:
                failed([Problem(str(path), str(name), f"already defined in {owner[name]}")])
                continue
            owner[name] = str(path)
            out[key] = value
            _record_origin(value, (str(name),), str(path), origin)
    return out, [str(p) for p in paths]


def _read_yaml(path: Path, environ: Mapping[str, str]) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(problems=[Problem(
            f"{path}{where}", "", f"not valid YAML: {getattr(e, 'problem', None) or e}")]
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(problems=[Problem(str(path), "", f"expected a mapping of keys at the "
                                                           f"top level, found "
                                                           f"{type(data).__name__}")])
    return _interpolate(data, path, (), environ)


def _record_origin(value: Any, at: tuple[str, ...], path: str,
                   origin: dict[tuple[str, ...], str]) -> None:
    origin[at] = path
    if isinstance(value, dict):
        for k, v in value.items():
            _record_origin(v, (*at, str(_plain(k))), path, origin)


def _interpolate(value: Any, path: Path, at: tuple[str, ...], environ: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate(v, path, (*at, str(k)), environ) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, path, (*at, str(i)), environ) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        raise ConfigError(problems=[Problem(
            str(path), ".".join(at), f"environment variable {name} is not set (set it, or "
                                     f"write ${{{name}:-default}})")])

    return _ENV_REF.sub(sub, value)


# An override deletes a base key with the value DELETE, and replaces a base mapping whole
# (instead of merging into it key by key) when its key ends with REPLACE: `derived!: {...}`.
DELETE = "__delete__"
REPLACE = "!"


def _plain(key: Any) -> Any:
    """``key`` without the replace marker (YAML keys that are not text are kept as they are)."""
    if isinstance(key, str) and key.endswith(REPLACE) and len(key) > 1:
        return key[:-len(REPLACE)]
    return key


def _merge(base: dict[str, Any], override: dict[str, Any], at: tuple[str, ...] = (),
           removed: list[tuple[str, ...]] | None = None) -> dict[str, Any]:
    """``override`` layered on ``base``: mappings merge key by key, anything else replaces;
    ``DELETE`` removes a key, a key ending with ``REPLACE`` replaces the base value whole.
    The keys deleted or replaced are appended to ``removed``."""
    out = dict(base)
    removed = [] if removed is None else removed
    for key, v in override.items():
        k = _plain(key)
        whole = k != key
        if v == DELETE or whole:
            if k in out:
                removed.append((*at, str(k)))
            out.pop(k, None)
            if v == DELETE:
                continue
            out[k] = _strip(v)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v, (*at, str(k)), removed)
        else:
            out[k] = _strip(v)
    return out


def _strip(value: Any) -> Any:
    """``value`` with replace markers taken off its keys and delete markers dropped."""
    return _merge({}, value) if isinstance(value, dict) else value


def _validate(merged: dict[str, Any], env: str, root: Path, files: list[str],
              origin: dict[tuple[str, ...], str], conf_hash: str) -> Settings:
    raw = dict(merged)
    lake = raw.get("lake") or {}
    layers = lake.get("layers") if isinstance(lake, dict) else None
    tables_in = raw.pop("tables", None) or {}
    if not isinstance(tables_in, dict):
        raise ConfigError(problems=[Problem(origin.get(("tables",), str(root)), "tables",
                                            "expected a mapping of table name to entry")])
    tables: dict[str, Any] = {}
    for name, entry in tables_in.items():
        if not isinstance(entry, dict):
            raise ConfigError(problems=[Problem(origin.get(("tables", name), str(root)),
                                                f"tables.{name}", f"expected a mapping, found "
                                                                  f"{type(entry).__name__}")])
        entry = {"name": name, **entry}
        if "location" not in entry and isinstance(layers, dict) and entry.get("layer") in layers:
            entry["location"] = _join(layers[entry["layer"]], name)
        tables[name] = entry
    reserved = {"env", "conf_dir", "files", "conf_hash", "suites", "suite_files", "origins"}
    clash = sorted(reserved & set(raw))
    if clash:
        raise ConfigError(problems=[Problem(origin.get((clash[0],), str(root)), clash[0],
                                            "unknown key")])
    origins = {".".join(k): v for k, v in origin.items()}
    try:
        return Settings(env=env, conf_dir=str(root), files=files, conf_hash=conf_hash,
                        tables=tables, origins=origins, **raw)
    except ValidationError as e:
        raise ConfigError(problems=explain(e, origin, root, merged)) from None


def explain(e: ValidationError, origin: dict[tuple[str, ...], str], root: Path,
            data: Any = None) -> list[Problem]:
    """One problem per pydantic error, with the file that set its key."""
    problems = []
    for err in e.errors():
        loc = tuple(_user_keys(data, [str(p) for p in err["loc"]]))
        key = ".".join(loc)
        where = None
        for n in range(len(loc), 0, -1):
            where = origin.get(loc[:n])
            if where:
                break
        msg = _message(err)
        if err["type"] == "value_error" and (m := re.match(r"([\w.]+): (.*)", msg)):
            # cross-field checks name their key in the message: find the file that set it
            loc = (*loc, *m.group(1).split("."))
            key, msg = ".".join(loc), m.group(2)
            where = next((origin[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in origin),
                         None)
        problems.append(Problem(str(where or root), key, msg))
    return problems


def _message(err: Any) -> str:
    if err["type"] == "missing":
        return "required key is missing"
    if err["type"] == "extra_forbidden":
        return "unknown key"
    return str(err["msg"]).removeprefix("Value error, ")


def _user_keys(data: Any, loc: list[str]) -> list[str]:
    """``loc`` without the segments the user did not write (a tagged union's tag)."""
    if data is None:
        return loc
    out, node = [], data
    for i, part in enumerate(loc):
        if isinstance(node, dict) and part not in node and i + 1 < len(loc):
            continue  # e.g. pydantic's union tag in transport.http.url
        out.append(part)
        node = node.get(part) if isinstance(node, dict) else None
    return out


def _join(root: str, name: str) -> str:
    return join_uri(absolute(root), name)
