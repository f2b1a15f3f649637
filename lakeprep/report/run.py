"""The run report: one self-contained HTML file per run, ``<system>/reports/<run_id>.html``.

Built from the run record (:mod:`lakeprep.report.record`), the tables themselves, the saved
validation results and the lineage in the commits. Every number that describes data is a Spark
aggregation (histogram bins, category counts, null counts, correlations, PSI buckets); only
those small aggregates reach the driver. What needs the quality library (the validation
results, the drift check) the caller gives: ``jobs.report`` does.

Example::

    path = build_report(ctx, rec, RunEvidence(...))
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import types as T

from lakeprep.ingest.problems import group_problems
from lakeprep.report import html as R
from lakeprep.report.record import RunRecord, reports_folder
from lakeprep.runtime import JobContext
from lakeprep.stats.profile import correlations, missing_shares, numeric_histograms, top_values
from lakeprep.stats.types import NUMERIC_TYPES
from lakeprep.storage import write_text
from lakeprep.uris import join_uri, relative_link

log = logging.getLogger(__name__)

BINS = 20
TOP = 10
MAX_CORR_COLUMNS = 20
TOP_QUARANTINE_GROUPS = 20


@dataclass
class Drift:
    """The drift section's content: PSI per feature against the training baseline."""

    baseline: str  # where the baseline was read
    verdict: str
    warn: float
    fail: float
    features: Sequence[tuple[str, float, str]]  # (feature, PSI, verdict), highest PSI first
    problem: str | None = None  # why there is no drift check (no baseline...)


@dataclass
class RunEvidence:
    """What the report shows that lakeprep's own runtime does not compute: the saved
    validation results of each job run (by run id) and the drift check of the feature table."""

    validations: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    drift: Drift | None = None


def build_report(ctx: JobContext, rec: RunRecord, evidence: RunEvidence) -> str:
    """Render ``rec`` and the tables it wrote into ``<reports>/<run_id>.html``; its path."""
    page = R.Page(f"lakeprep run {rec.run_id}",
                  f"env {rec.env} · started {rec.started_at} · "
                  f"{'completed' if rec.ok else 'FAILED'}")
    folder = reports_folder(ctx.settings)
    _summary(page, rec)
    _ingest(page, rec)
    _gates(page, rec, evidence, folder)
    _quarantine(page, ctx, rec)
    _lineage(page, ctx, rec)
    _features(page, ctx, rec, evidence)
    path = join_uri(folder, f"{rec.run_id}.html")
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


def _gates(page: R.Page, rec: RunRecord, evidence: RunEvidence, report_folder: str) -> None:
    docs = _docs_link(rec, report_folder)
    body = [f'<p><a href="{R.esc(docs)}">Great Expectations Data Docs</a></p>' if docs else ""]
    for job, run_id in rec.job_runs.items():
        for doc in evidence.validations.get(run_id, []):
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
    body = ["<p>Parse-level reasons come from reading the raw files; gate-level reasons name "
            "the expectations a row failed. One row per table, level, column and code, over "
            f"the whole quarantine table (at most {TOP_QUARANTINE_GROUPS} per table), with up "
            "to three example values.</p>"]
    rows = []
    for t in rec.tables:
        q = ctx.table_at(ctx.spec(t.table).quarantine_location)
        if not q.exists():
            continue
        summary = group_problems(q.read(), TOP_QUARANTINE_GROUPS)
        rows += [[t.table, g.level, g.column or "", g.code, g.rows,
                  ", ".join(repr(e) for e in g.examples)] for g in summary.groups]
        if summary.more_groups:
            rows.append([t.table, "", "", f"{summary.more_groups} more group(s)",
                         summary.more_rows, ""])
    body.append(R.table(["table", "level", "column", "code", "rows", "examples"], rows)
                if rows else "<p>No rows were quarantined.</p>")
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


def _features(page: R.Page, ctx: JobContext, rec: RunRecord, evidence: RunEvidence) -> None:
    feats = rec.features or {}
    if not feats.get("table") or feats.get("version") is None:
        return
    df = ctx.table(feats["table"]).read(version=feats["version"])
    meta = ctx.table(feats["table"]).history()
    names = next((c.metadata.get("features") for c in meta if c.version == feats["version"]),
                 None) or {}
    skip = {names.get("entity"), names.get("column"), "snapshot_date", "features"}
    numeric = [f.name for f in df.schema.fields if isinstance(f.dataType, NUMERIC_TYPES)
               and f.name not in skip]
    categorical = [f.name for f in df.schema.fields if isinstance(f.dataType, T.StringType)
                   and f.name not in skip]
    label = names.get("label")
    hist = numeric_histograms(df, [c for c in numeric if c != label], BINS)
    cats = top_values(df, categorical, TOP, missing="(null)")
    missing = missing_shares(df, [c for c in df.columns if c not in skip])
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
    _drift(page, evidence.drift)


def _drift(page: R.Page, drift: Drift | None) -> None:
    if drift is None:
        return
    if drift.problem:
        page.section("Drift", f"<p>No drift baseline: {R.esc(drift.problem)}</p>", anchor="drift")
        return
    rows = drift.features
    page.section(
        f"Drift against the training baseline (PSI; verdict {drift.verdict})",
        f"<p>The feature table version in this report against {R.esc(drift.baseline)}; warn "
        f"at {drift.warn}, fail at {drift.fail}.</p>",
        R.bars("PSI per feature", [r[0] for r in rows], [r[1] for r in rows],
               color="#2a9d8f", threshold=drift.warn),
        R.table(["feature", "PSI", "verdict"], [[n, round(p, 4), R.verdict(v)]
                                                  for n, p, v in rows], raw=(2,)),
        anchor="drift")


def _docs_link(rec: RunRecord, report_folder: str) -> str | None:
    return relative_link(rec.data_docs, report_folder) if rec.data_docs else None
