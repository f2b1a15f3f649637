"""The lake side of feature sets: which sets can run (their tables exist), their source tables
read at a version, what a build or a transform reports, the dates a set's data spans in the lake
(which ``transform`` takes its default cutoff from, and an empty window's error names), the
rows as a feature table stores them, and a feature table read with its contract (what
``export`` reads). The sets themselves are conf (``lakeprep.config.sections``); building their
rows is the feature library's (``features``); running them is the jobs'
(``jobs.build_features``, ``jobs.transform``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakeprep.config.sections import FEATURES_COL, ExportSettings, FeatureSet
from lakeprep.errors import ConfigError, InputError, UsageError
from lakeprep.frames import one_row, quoted
from lakeprep.lake import LakeTable
from lakeprep.runtime import JobContext

log = logging.getLogger(__name__)

# saved beside a set's pipeline model: the training rows' distributions that ``transform``
# checks new rows against
BASELINE_FILE = "drift_baseline.json"


@dataclass
class ReadySets:
    """The feature sets a run takes, and why each of the others is skipped."""

    ready: dict[str, FeatureSet]
    skipped: dict[str, str]


def split_by_tables(ctx: JobContext, sets: dict[str, FeatureSet], named: bool,
                    needs: Callable[[FeatureSet], list[str]] | None = None) -> ReadySets:
    """``sets`` split by whether the tables each needs (``needs``, default its sources) exist
    yet: a set whose tables do not is skipped with the reason, or an error when it is the one
    the user ``named``."""
    out = ReadySets({}, {})
    for name, fs in sets.items():
        missing = [t for t in (needs or _sources)(fs) if ctx.table(t).version() is None]
        if not missing:
            out.ready[name] = fs
            continue
        why = (f"table(s) {', '.join(missing)} do not exist yet; run `lakeprep run ingest` "
               f"(or build-features) first")
        if named:
            raise InputError(f"feature set {name}: {why}")
        log.warning("feature set %s: skipped: %s", name, why)
        out.skipped[name] = why
    return out


def _sources(fs: FeatureSet) -> list[str]:
    return fs.sources()


def read_sources(ctx: JobContext, fs: FeatureSet
                 ) -> tuple[dict[str, DataFrame], list[dict[str, Any]]]:
    """The set's source tables, each read at its latest version, and the versions read (the
    ``inputs`` the commit of the set's rows names)."""
    tables, inputs = {}, []
    for source in fs.sources():
        table = ctx.table(source)
        version = table.version()
        if version is None:
            raise InputError(f"table {source} does not exist yet at {table.location}; run "
                             f"`lakeprep run ingest` first")
        tables[source] = table.read(version=version)
        inputs.append({"table": source, "kind": "table", "version": version,
                       "location": table.location})
    return tables, inputs


def stored_rows(out: DataFrame, snapshot_columns: list[str]) -> DataFrame:
    """The set's rows and their assembled vector as its feature table stores them."""
    # Delta stores no ML vectors: the assembled vector lands as array<double>
    return out.select(*quoted(snapshot_columns),
                      vector_to_array(F.col(FEATURES_COL)).alias(FEATURES_COL))


@dataclass
class FeatureReport:
    table: str
    cutoff: str
    rows: int = 0
    label_balance: dict[str, int] = field(default_factory=dict)
    feature_names: list[str] = field(default_factory=list)
    version: int | None = None
    model_path: str = ""
    inputs: list[dict[str, Any]] = field(default_factory=list)
    drift: dict[str, Any] | None = None
    feature_set: str = ""
    cutoff_note: str = ""  # how the cutoff was chosen when none was given

    def lines(self) -> list[str]:
        src = ", ".join(f"{i['table']}@v{i['version']}" for i in self.inputs)
        head = f"set {self.feature_set}: " if self.feature_set else ""
        out = [f"{head}{self.table}: {self.rows:,} rows as of {self.cutoff} from {src}; "
               f"{len(self.feature_names)} features; version {self.version}",
               *([self.cutoff_note] if self.cutoff_note else []),
               f"pipeline model: {self.model_path}"]
        if self.label_balance:
            out.append("label balance: " + ", ".join(f"{k}: {v:,}" for k, v in
                                                      sorted(self.label_balance.items())))
        if self.drift:
            worst = ", ".join(f"{f['feature']} {f['psi']:.3f}" for f in self.drift["drifted"][:5])
            out.append(f"drift vs training baseline: {self.drift['verdict']}"
                       + (f" ({worst})" if worst else ""))
        return out


@dataclass
class SetsReport:
    """What a run over feature sets did: a report per set built, a reason per set skipped."""

    reports: dict[str, FeatureReport] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> FeatureReport:
        return self.reports[name]

    def lines(self) -> list[str]:
        out = [line for r in self.reports.values() for line in r.lines()]
        return out + [f"set {name}: skipped: {why}" for name, why in self.skipped.items()]


@dataclass(frozen=True)
class DataDates:
    """The first and last date of a set's data, over the columns that date it
    (``FeatureSet.date_columns``: the time filter's column, the snapshot's timestamps)."""

    columns: list[str]  # table.column
    first: date | None = None
    last: date | None = None

    def describe(self) -> str:
        if not self.columns:
            return "no column dates the set's data"
        if self.last is None:
            return f"{', '.join(self.columns)} hold no date"
        return f"{', '.join(self.columns)} span {self.first} .. {self.last}"


def data_dates(ctx: JobContext, fs: FeatureSet) -> DataDates:
    """The set's ``DataDates`` from its tables' latest versions: one aggregation per table."""
    by_table: dict[str, list[str]] = {}
    for table, column in fs.date_columns():
        by_table.setdefault(table, []).append(column)
    firsts, lasts = [], []
    for table, columns in by_table.items():
        days = [F.to_date(F.col(f"`{c}`")) for c in columns]
        row = one_row(ctx.table(table).read().agg(
            F.array_min(F.array(*[F.min(d) for d in days])).alias("a"),
            F.array_max(F.array(*[F.max(d) for d in days])).alias("b")))
        firsts += [row["a"]] if row["a"] is not None else []
        lasts += [row["b"]] if row["b"] is not None else []
    return DataDates([f"{t}.{c}" for t, c in fs.date_columns()],
                     min(firsts) if firsts else None, max(lasts) if lasts else None)


def no_rows(ctx: JobContext, name: str, fs: FeatureSet, table: str, day: str) -> InputError:
    """The error of a set that has no rows as of ``day``: its window and its data's dates."""
    return InputError(f"{table} (feature set {name}): no rows as of {day}: it takes "
                      f"{fs.window(day)}, and {data_dates(ctx, fs).describe()}; give a "
                      f"--cutoff that puts data in that window")


def features_metadata(table: LakeTable, version: int, name: str) -> dict[str, Any]:
    """``metadata["features"]`` of the newest commit at or before ``version``.

    Commits without it (e.g. OPTIMIZE) are skipped, so the names describe the data read.
    """
    for commit in table.history():
        if commit.version <= version and isinstance(commit.metadata.get("features"), dict):
            meta = commit.metadata["features"]
            if not meta.get("names"):
                raise InputError(f"table {name} version {commit.version}: commit metadata "
                                 f"'features.names' is empty; expected the feature names in "
                                 f"vector order (written by build_features)")
            return meta
    raise InputError(f"table {name} ({table.location}): no commit at or before version {version} "
                     f"carries 'features' metadata (names, label, entity, pipeline_model); "
                     f"write the table with build_features")


@dataclass(frozen=True)
class FeatureTable:
    """A feature table as of a version, with its contract (written by build_features into
    the commit's ``features`` metadata): the label, the entity, the feature names in vector
    order and the pipeline model."""

    name: str
    table: LakeTable
    version: int
    label: str
    entity: str | None
    names: list[str]
    pipeline_model: str | None


def open_feature_table(ctx: JobContext, cfg: ExportSettings, version: int | None
                       ) -> FeatureTable:
    """``cfg.source_table`` as of ``version`` (default: latest), its label from ``cfg`` or its
    metadata; errors naming the conf key or the table when either is missing."""
    name = cfg.source_table
    if name not in ctx.settings.tables:
        raise ConfigError(f"{ctx.settings.where('export', 'source_table')}: "
                          f"export.source_table: no table named {name!r} in the catalog; "
                          f"known tables: {', '.join(sorted(ctx.settings.tables))}")
    table = ctx.table(name)
    latest = table.version()
    if latest is None:
        raise InputError(f"table {name} does not exist at {table.location}; run build_features "
                         f"first")
    if version is not None and not 0 <= version <= latest:
        raise UsageError(f"table {name}: version {version} does not exist; versions 0..{latest}")
    version = latest if version is None else version
    meta = features_metadata(table, version, name)
    label = cfg.label or meta.get("label")
    if not label:
        raise ConfigError(f"{ctx.settings.where('export', 'label')}: export.label: not "
                          f"set and table {name} version {version} names no label in its "
                          f"metadata")
    if meta.get("label") and meta["label"] != label:
        log.warning("export.label is %r but table %s version %d names %r as its label",
                    label, name, version, meta["label"])
    return FeatureTable(name, table, version, label, cfg.entity or meta.get("entity"),
                   list(meta["names"]), meta.get("pipeline_model"))


def default_cutoff(ctx: JobContext, name: str, fs: FeatureSet) -> tuple[date, dict[str, Any]]:
    """The cutoff of a set when none is given: the day after the latest date of its data (the
    cutoff is exclusive, so that day's rows count), else the set's conf cutoff; and the record
    of how it was chosen (``note``, ``rule``, the data's dates)."""
    dates = data_dates(ctx, fs)
    record: dict[str, Any] = {"columns": dates.columns,
                              "first": dates.first and dates.first.isoformat(),
                              "last": dates.last and dates.last.isoformat()}
    if dates.last is not None:
        day = dates.last + timedelta(days=1)
        note = (f"cutoff {day} (no --cutoff): the day after the latest date of the data, "
                f"{dates.last}; {dates.describe()}")
        return day, {**record, "rule": "day after the latest date of the data", "note": note}
    day = ctx.settings.require_features().cutoff_of(name)
    note = f"cutoff {day} (no --cutoff): the set's conf cutoff, as {dates.describe()}"
    return day, {**record, "rule": "the set's conf cutoff", "note": note}
