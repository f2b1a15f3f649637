"""The lake side of feature sets: what a build or a transform reports, and the dates a set's data
spans in the lake (which ``transform`` takes its default cutoff from, and an empty window's
error names). The sets themselves are conf (``lakeprep.config.sections``); building their rows
is the feature library's (``features``); running them is the jobs' (``jobs.build_features``,
``jobs.transform``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pyspark.sql import functions as F

from lakeprep.config.sections import FeatureSet
from lakeprep.frames import one_row
from lakeprep.runtime import JobContext


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
