"""The run report: one self-contained HTML file per run, ``<lake>/_lakeprep/reports/<run_id>.html``.

Built from the run record (``jobs.demo.RunRecord``, kept in ``<lake>/_lakeprep/runs/``), the
tables themselves, the saved validation results and the lineage in the commits. Every number
that describes data is a Spark aggregation (histogram bins, category counts, null counts,
correlations, PSI buckets); only those small aggregates reach the driver.

    lakeprep report latest --env local        # or a run id

>>> path = build_report(ctx, load_record(ctx.settings, ctx.spark, "latest"))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakeprep import report as R
from lakeprep.config import Settings
from lakeprep.errors import InputError, UsageError
from lakeprep.frames import one_row
from lakeprep.runtime import JobContext
from lakeprep.storage import join_uri, list_files, read_text, write_text

log = logging.getLogger(f"lakeprep.{__name__}")

NUMERIC = (T.ByteType, T.ShortType, T.IntegerType, T.LongType, T.FloatType, T.DoubleType,
           T.DecimalType)
BINS = 20
TOP = 10
MAX_CORR_COLUMNS = 20


@dataclass
class StageResult:
    """One stage: how long it took, what it reports (lines) and which job run it was."""

    name: str
    seconds: float = 0.0
    ok: bool = True
    run_id: str | None = None
    rows: int | None = None
    lines: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class TableSummary:
    """One table's row of the summary; ``rows_in_table`` is counted from the table itself."""

    table: str
    rows_read: int | None = None
    written: int | None = None
    quarantined: int | None = None
    duplicates: int | None = None
    version: int | None = None
    rows_in_table: int | None = None
    quarantine_rows: int | None = None
    gate: str | None = None


@dataclass
class RunRecord:
    """What one demo run did: its stages, its job runs, per-table numbers, where its outputs are.
    Saved as JSON (``save``/``load``); the run report is built from it."""

    run_id: str
    started_at: str
    env: str
    stages: list[StageResult] = field(default_factory=list)
    tables: list[TableSummary] = field(default_factory=list)
    job_runs: dict[str, str] = field(default_factory=dict)  # job -> run id
    ingest: list[dict[str, Any]] = field(default_factory=list)  # IngestReport fields
    features: dict[str, Any] | None = None  # FeatureReport fields
    export: dict[str, Any] | None = None  # manifest uri, rows per split
    data_docs: str | None = None
    report_path: str | None = None
    ok: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        rec = cls(**{k: v for k, v in data.items() if k not in ("stages", "tables")})
        rec.stages = [StageResult(**s) for s in data.get("stages", [])]
        rec.tables = [TableSummary(**t) for t in data.get("tables", [])]
        return rec



def reports_folder(settings: Settings) -> str:
    return settings.system_table("reports")


def runs_folder(settings: Settings) -> str:
    return settings.system_table("runs")


def save_record(ctx: JobContext, rec: RunRecord) -> str:
    """Write the run record as JSON (local or s3://, through lakeprep.storage)."""
    path = join_uri(runs_folder(ctx.settings), f"{rec.run_id}.json")
    _mkdir(path)
    write_text(ctx.spark, path, json.dumps(rec.to_dict(), indent=1, default=str))
    return path


def load_record(settings: Settings, spark: SparkSession, run_id: str) -> RunRecord:
    """The record of ``run_id``, or of the newest run when ``run_id`` is ``latest``."""
    folder = runs_folder(settings)
    files = [f for f in list_files(spark, folder) if f.path.endswith(".json")]
    if not files:
        raise UsageError(f"no run records in {folder}: run `lakeprep demo` first")
    names = {os.path.basename(f.path)[:-5]: f.path for f in files}
    if run_id == "latest":
        run_id = max(names)  # run ids start with their UTC start time
    if run_id not in names:
        raise UsageError(f"no run {run_id!r} in {folder}; newest runs: "
                         f"{', '.join(sorted(names)[-5:])}")
    return RunRecord.from_dict(json.loads(read_text(spark, names[run_id])))


def report_links(settings: Settings, spark: SparkSession) -> dict[str, str]:
    """Job run id -> the run report that covers it, for every saved run that has one."""
    links = {}
    for f in list_files(spark, runs_folder(settings)):
        if not f.path.endswith(".json"):
            continue
        data = json.loads(read_text(spark, f.path))
        if data.get("report_path"):
            for run_id in (data.get("job_runs") or {}).values():
                links[run_id] = data["report_path"]
    return links


def build_report(ctx: JobContext, rec: RunRecord) -> str:
    """Render ``rec`` and the tables it wrote into ``<reports>/<run_id>.html``; its path."""
    page = R.Page(f"lakeprep run {rec.run_id}",
                  f"env {rec.env} · started {rec.started_at} · "
                  f"{'completed' if rec.ok else 'FAILED'}")
    folder = reports_folder(ctx.settings)
    _summary(page, rec)
    _ingest(page, rec)
    _gates(page, ctx, rec, folder)
    _quarantine(page, ctx, rec)
    _lineage(page, ctx, rec)
    _features(page, ctx, rec)
    path = join_uri(folder, f"{rec.run_id}.html")
    _mkdir(path)
    write_text(ctx.spark, path, page.html())
    log.info("run report: %s", path)
    return path


# sections --------------------------------------------------------------------------------------
def _summary(page: R.Page, rec: RunRecord) -> None:
    stages = R.table(["stage", "ok", "seconds", "rows", "job run", "what it did"],
                     [[s.name, R.verdict("ok" if s.ok else "failed"), s.seconds, s.rows,
                       s.run_id or "", "<br>".join(map(R.esc, s.lines or [s.error or ""]))]
                      for s in rec.stages], raw=(1, 5))
    tables = R.table(["table", "rows read", "written", "quarantined", "duplicates", "version",
                      "rows in table", "rows in quarantine table", "gate"],
                     [[t.table, t.rows_read, t.written, t.quarantined, t.duplicates, t.version,
                       t.rows_in_table, t.quarantine_rows, R.verdict(t.gate or "none")]
                      for t in rec.tables], raw=(8,))
    page.section("Summary", "<h3>Stages</h3>", stages, "<h3>Tables</h3>", tables,
                 anchor="summary")


def _ingest(page: R.Page, rec: RunRecord) -> None:
    if not rec.ingest:
        return
    rows = []
    for r in rec.ingest:
        dups = r["duplicates_in_batch"] + r["duplicates_existing"]
        total = r["rows_inserted"] + r["rows_updated"] + r["quarantined"] + dups
        rows.append([r["table"], r["files_new"], r["files_seen"], r["rows_read"],
                     r["rows_inserted"], r["rows_updated"], r["quarantined"], dups,
                     R.verdict("reconciled" if total == r["rows_read"] else "DOES NOT ADD UP")
                     if r["files_new"] else "no new files", r["version"]])
    page.section("Ingest reconcile: read = inserted + updated + quarantined + duplicates",
                 R.table(["table", "new files", "files seen before", "read", "inserted",
                          "updated", "quarantined", "duplicates", "reconcile", "version"],
                         rows, raw=(8,)), anchor="ingest")


def _gates(page: R.Page, ctx: JobContext, rec: RunRecord, report_folder: str) -> None:
    docs = _docs_link(rec, report_folder)
    body = [f'<p><a href="{R.esc(docs)}">Great Expectations Data Docs</a></p>' if docs else ""]
    for job, run_id in rec.job_runs.items():
        for doc in _validation_results(ctx, run_id):
            gate = (doc.get("extra") or {}).get("gate") or {}
            report = doc.get("report") or {}
            counts = ", ".join(f"{k} {v:,}" for k, v in (gate.get("counts") or {}).items())
            body.append(f"<h3>{R.esc(job)} · {R.esc(doc.get('table'))} · suite "
                        f"{R.esc(report.get('suite_name'))} · policy "
                        f"{R.esc(gate.get('policy'))} · verdict "
                        f"{R.verdict(gate.get('verdict', 'unknown'))}"
                        f"{' · ' + R.esc(counts) if counts else ''}</h3>")
            rows = []
            for o in report.get("outcomes", []):
                if o.get("unexpected_count") is not None:
                    observed = (f"{o['unexpected_count']:,} of {o.get('element_count') or 0:,} "
                                f"unexpected ({o.get('unexpected_percent') or 0:.2f}%)")
                else:
                    observed = json.dumps(o.get("observed_value"), default=str)
                rows.append([R.verdict("ok" if o.get("success") else "failed"),
                             o.get("expectation"), ", ".join(o.get("columns") or []), observed,
                             json.dumps(o.get("sample"), default=str) if o.get("sample") else "",
                             o.get("exception") or ""])
            body.append(R.table(["", "expectation", "column(s)", "observed", "failing sample",
                                 "error"], rows, raw=(0,)))
    page.section("Quality gates", *body, anchor="gates")


def _quarantine(page: R.Page, ctx: JobContext, rec: RunRecord) -> None:
    from jobs.raw_reader import REASONS
    from quality.gate import FAILED_EXPECTATIONS_COLUMN

    body = ["<p>Parse-level reasons come from reading the raw files; gate-level reasons name "
            "the expectations a row failed. Counts over the whole quarantine table.</p>"]
    rows = []
    for t in rec.tables:
        q = ctx.table_at(ctx.spec(t.table).quarantine_location)
        if not q.exists():
            continue
        df = q.read()
        column = next((c for c in (REASONS, FAILED_EXPECTATIONS_COLUMN) if c in df.columns), None)
        if column is None:
            continue
        for r in (df.select(F.explode(column).alias("reason")).groupBy("reason").count()
                  .orderBy(F.desc("count")).collect()):
            level = "gate" if str(r.reason).startswith("expect_") else "parse"
            rows.append([t.table, level, r.reason, int(r["count"])])
    body.append(R.table(["table", "level", "reason", "rows"], rows) if rows else
                "<p>No rows were quarantined.</p>")
    page.section("Quarantine reasons", *body, anchor="quarantine")


def _lineage(page: R.Page, ctx: JobContext, rec: RunRecord) -> None:
    from lakeprep.lineage import lineage_graph

    feats = rec.features or {}
    if not feats.get("table") or feats.get("version") is None:
        return
    root = lineage_graph(ctx, feats["table"], feats["version"])
    nodes: dict[str, dict[str, Any]] = {}
    edges: list[tuple[str, str]] = []

    def walk(node: dict[str, Any]) -> str:
        if node.get("kind") == "files":
            ident = f"files:{node['table']}"
            nodes[ident] = {"id": ident, "kind": "files", "label": f"{node['table']} (raw)",
                            "detail": f"{node.get('file_count')} file(s), "
                                      f"{node.get('bytes', 0):,} bytes"}
        else:
            ident = f"{node['table']}@{node.get('version')}"
            counts = node.get("counts") or {}
            detail = f"v{node.get('version')} · {node.get('job') or node.get('status')}"
            if "rows_read" in counts:
                detail += f" · read {counts['rows_read']:,}"
            elif "rows" in counts:
                detail += f" · {counts['rows']:,} rows"
            nodes.setdefault(ident, {"id": ident, "kind": "table", "label": node["table"],
                                     "detail": detail, "title": node.get("location")})
        for child in node.get("inputs") or []:
            edges.append((walk(child), ident))
        return ident

    top = walk(root)
    if rec.export:
        ident = "export"
        nodes[ident] = {"id": ident, "kind": "export", "label": "SageMaker channels",
                        "detail": ", ".join(f"{k} {v:,}" for k, v in rec.export["rows"].items()),
                        "title": rec.export.get("manifest")}
        edges.append((top, ident))
    page.section("Lineage: raw files -> bronze -> features -> export",
                 R.graph(list(nodes.values()), list(dict.fromkeys(edges))), anchor="lineage")


def _features(page: R.Page, ctx: JobContext, rec: RunRecord) -> None:
    feats = rec.features or {}
    if not feats.get("table") or feats.get("version") is None:
        return
    df = ctx.table(feats["table"]).read(version=feats["version"])
    meta = ctx.table(feats["table"]).history()
    names = next((c.metadata.get("features") for c in meta if c.version == feats["version"]),
                 None) or {}
    skip = {names.get("entity"), names.get("column"), "snapshot_date", "features"}
    numeric = [f.name for f in df.schema.fields if isinstance(f.dataType, NUMERIC)
               and f.name not in skip]
    categorical = [f.name for f in df.schema.fields if isinstance(f.dataType, T.StringType)
                   and f.name not in skip]
    label = names.get("label")
    hist = numeric_histograms(df, [c for c in numeric if c != label])
    cats = top_categories(df, categorical)
    missing = missing_values(df, [c for c in df.columns if c not in skip])
    corr_cols = [c for c in numeric if c != label][:MAX_CORR_COLUMNS]
    mid_range = {c: (edges[0] + edges[-1]) / 2 for c, (edges, _) in hist.items()}
    corr = correlations(df, corr_cols, mid_range)

    plots = [R.histogram(c, e, n) for c, (e, n) in hist.items()]
    plots += [R.bars(f"{c}: top {TOP} categories", [k for k, _ in v], [n for _, n in v])
              for c, v in cats.items()]
    body = [f"<p>{R.esc(feats['table'])} version {feats['version']}, cutoff "
            f"{R.esc(feats.get('cutoff'))}: {feats.get('rows', 0):,} rows, "
            f"{len(feats.get('feature_names') or [])} features in the vector. "
            f"Histograms ({BINS} equal-width bins) and category counts are Spark "
            f"aggregations.</p>", '<div class="grid">', *plots, "</div>"]
    page.section("Feature distributions", *body, anchor="distributions")
    missing_rows = sorted(missing.items(), key=lambda kv: -kv[1])
    page.section("Missing values per column",
                 R.bars("share of rows missing", [k for k, _ in missing_rows],
                        [v for _, v in missing_rows], color="#b3261e"),
                 anchor="missing")
    if len(corr_cols) >= 2:
        page.section("Correlations (Pearson)", R.heatmap("correlation", corr_cols, corr),
                     anchor="correlations")
    balance = (rec.export or {}).get("class_balance") or {}
    balance = {k: v for k, v in balance.items() if v}
    if balance or feats.get("label_balance"):
        parts = []
        if balance:
            parts.append(R.stacked_shares("label share per split", balance))
            parts.append(R.table(["split", *sorted({k for v in balance.values() for k in v})],
                                 [[s, *[v.get(k, 0) for k in sorted({k for x in balance.values()
                                                                    for k in x})]]
                                  for s, v in balance.items()]))
        if feats.get("label_balance"):
            parts.append(f"<p>Feature table label balance: "
                         f"{R.esc(json.dumps(feats['label_balance']))}</p>")
        page.section("Class balance per split", *parts, anchor="balance")
    _drift(page, ctx, df, feats)


def _drift(page: R.Page, ctx: JobContext, df: DataFrame, feats: dict[str, Any]) -> None:
    from quality.drift import DriftBaseline, check_drift

    model = feats.get("model_path")
    if not model:
        return
    from jobs.build_features import BASELINE_FILE

    path = f"{model}/{BASELINE_FILE}"
    try:
        baseline = DriftBaseline.from_dict(json.loads(read_text(ctx.spark, path)), source=path)
    except InputError as e:
        page.section("Drift", f"<p>No drift baseline: {R.esc(e)}</p>", anchor="drift")
        return
    cfg = ctx.settings.require_features().drift
    present = [f for f in baseline.features if f in df.columns]
    baseline = type(baseline)({f: baseline.features[f] for f in present}, baseline.row_count,
                              baseline.bins)
    drift = check_drift(df, baseline, warn=cfg.warn, fail=cfg.fail)
    rows = sorted(((n, f.psi, f.verdict) for n, f in drift.features.items()),
                  key=lambda r: -r[1])
    page.section(
        f"Drift against the training baseline (PSI; verdict {drift.verdict})",
        f"<p>The feature table version in this report against {R.esc(path)}; warn at "
        f"{cfg.warn}, fail at {cfg.fail}.</p>",
        R.bars("PSI per feature", [r[0] for r in rows], [r[1] for r in rows],
               color="#2a9d8f", threshold=cfg.warn),
        R.table(["feature", "PSI", "verdict"], [[n, round(p, 4), R.verdict(v)]
                                                  for n, p, v in rows], raw=(2,)),
        anchor="drift")


# Spark aggregations ------------------------------------------------------------------------------
def numeric_histograms(df: DataFrame, columns: Sequence[str], bins: int = BINS
                       ) -> dict[str, tuple[list[float], list[int]]]:
    """Equal-width histograms of ``columns``: two aggregations in all (range, then bin counts
    in long form), whatever the number of columns.

    >>> numeric_histograms(spark.range(10).toDF("x"), ["x"], bins=2)  # doctest: +SKIP
    {'x': ([0.0, 4.5, 9.0], [5, 5])}
    """
    if not columns:
        return {}
    aggs = []
    for i, c in enumerate(columns):
        col = F.col(f"`{c}`").cast("double")
        aggs += [F.min(col).alias(f"lo{i}"), F.max(col).alias(f"hi{i}")]
    ranges = one_row(df.agg(*aggs))
    entries = []
    edges: dict[str, list[float]] = {}
    for i, c in enumerate(columns):
        lo, hi = ranges[f"lo{i}"], ranges[f"hi{i}"]
        if lo is None:
            continue
        width = (hi - lo) / bins if hi > lo else 1.0
        edges[c] = [lo + k * width for k in range(bins + 1)]
        value = F.col(f"`{c}`").cast("double")
        # least() skips nulls: a null value would land in the last bin without the when()
        b = F.when(value.isNotNull() & ~F.isnan(value),
                   F.least(F.floor((value - F.lit(lo)) / F.lit(width)), F.lit(bins - 1))
                   ).cast("int")
        entries.append(F.struct(F.lit(c).alias("k"), b.alias("b")))
    if not entries:
        return {}
    counts = (df.select(F.explode(F.array(*entries)).alias("x")).where(F.col("x.b").isNotNull())
              .groupBy("x.k", "x.b").count().collect())
    out = {c: (e, [0] * bins) for c, e in edges.items()}
    for r in counts:
        out[r["k"]][1][r["b"]] = int(r["count"])
    return out


def top_categories(df: DataFrame, columns: Sequence[str], top: int = TOP
                   ) -> dict[str, list[tuple[str, int]]]:
    """The ``top`` most frequent values of each string column (null shown as ``(null)``), in one
    aggregation over all columns."""
    if not columns:
        return {}
    entries = [F.struct(F.lit(c).alias("k"),
                        F.coalesce(F.col(f"`{c}`").cast("string"), F.lit("(null)")).alias("v"))
               for c in columns]
    w = Window.partitionBy("k").orderBy(F.desc("count"), "v")
    rows = (df.select(F.explode(F.array(*entries)).alias("x")).groupBy("x.k", "x.v").count()
            .withColumn("rank", F.row_number().over(w)).where(F.col("rank") <= top)
            .orderBy("k", "rank").collect())
    out: dict[str, list[tuple[str, int]]] = {c: [] for c in columns}
    for r in rows:
        out[r["k"]].append((r["v"], int(r["count"])))
    return out


def missing_values(df: DataFrame, columns: Sequence[str]) -> dict[str, float]:
    """Share of rows where each column is null (NaN counts as missing), one aggregation."""
    aggs = [F.count(F.lit(1)).alias("__n")]
    for i, c in enumerate(columns):
        col = F.col(f"`{c}`")
        miss = col.isNull()
        if isinstance(df.schema[c].dataType, T.FloatType | T.DoubleType):
            miss = miss | F.isnan(col)
        aggs.append(F.sum(F.when(miss, 1).otherwise(0)).alias(f"m{i}"))
    r = one_row(df.agg(*aggs))
    rows = r["__n"] or 1
    return {c: (r[f"m{i}"] or 0) / rows for i, c in enumerate(columns)}


def correlations(df: DataFrame, columns: Sequence[str],
                 center: Mapping[str, float] | None = None) -> list[list[float | None]]:
    """The Pearson correlation matrix of ``columns`` over pairwise-complete rows, in one pass.

    Each Arrow batch adds its co-moment matrices (pairwise counts, sums, sums of squares,
    cross products) with numpy; the driver sums one set per partition. (One Spark ``corr``
    aggregate per pair instead generates code for n(n-1)/2 aggregates: minutes for 20 columns.)
    ``center`` (e.g. each column's mid-range) is subtracted first, against cancellation.
    """
    n = len(columns)
    if n < 2:
        return [[1.0]] * n
    shift = np.array([float((center or {}).get(c, 0.0)) for c in columns])

    def moments(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        acc = np.zeros((4, n, n))
        for batch in batches:
            # nulls arrive as NaN; NaN values count as missing too
            x = np.column_stack([batch.column(i).to_numpy(zero_copy_only=False)
                                 for i in range(n)]).astype(np.float64) - shift
            present = ~np.isnan(x)
            x0, m = np.where(present, x, 0.0), present.astype(np.float64)
            acc += np.stack([m.T @ m, x0.T @ m, (x0 * x0).T @ m, x0.T @ x0])
        yield pa.RecordBatch.from_pydict({"m": [acc.ravel().tolist()]})

    cols = [F.col(f"`{c}`").cast("double").alias(f"c{i}") for i, c in enumerate(columns)]
    parts = df.select(*cols).mapInArrow(moments, "m array<double>").collect()
    count, sums, squares, cross = sum((np.array(r["m"]).reshape(4, n, n) for r in parts),
                                      np.zeros((4, n, n)))
    # for the rows where both a and b are present: sums[a, b] is the sum of a, squares[a, b]
    # the sum of a squared
    cov = count * cross - sums * sums.T
    var = count * squares - sums * sums
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = cov / np.sqrt(var * var.T)
    matrix: list[list[float | None]] = [[1.0 if i == j else None for j in range(n)]
                                        for i in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            v = float(np.clip(corr[i, j], -1.0, 1.0))
            ok = count[i, j] >= 2 and var[i, j] > 0 and var[j, i] > 0 and v == v
            matrix[i][j] = matrix[j][i] = v if ok else None
    return matrix


# helpers --------------------------------------------------------------------------------------
def _validation_results(ctx: JobContext, run_id: str) -> list[dict[str, Any]]:
    from jobs.gates import results_folder

    folder = results_folder(ctx)
    docs = []
    for f in list_files(ctx.spark, folder):
        if f.path.endswith(f"__{run_id}.json"):
            docs.append(json.loads(read_text(ctx.spark, f.path)))
    return docs


def _docs_link(rec: RunRecord, report_folder: str) -> str | None:
    if not rec.data_docs:
        return None
    if "://" in rec.data_docs or "://" in report_folder:
        return rec.data_docs
    return os.path.relpath(rec.data_docs, os.path.abspath(report_folder))


def _mkdir(path: str) -> None:
    if "://" not in path:  # Hadoop's local FS creates parents, but be explicit for relpaths
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
