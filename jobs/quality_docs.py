"""Keep validation results as JSON files and render them as Great Expectations Data Docs.

One JSON file per run and table, named ``<UTC time>__<table>__<run id>.json``; Data Docs are
built by a file-backed GE context rooted in a folder the caller chooses, then made to work
offline: GE's pages load Bootstrap, jQuery and bootstrap-table from CDNs, so every remote
``<link>``/``<script>`` is removed and the page gets inline styles and a small inline script
that draws GE's JavaScript tables as plain HTML tables. Validation pages link to the lakeprep
run report of their run when one is given.

>>> path = save_validation_result(report, "results/", run_id="r1")  # doctest: +SKIP
>>> index = build_data_docs("results/", "docs/")  # doctest: +SKIP
>>> index.name  # doctest: +SKIP
'index.html'
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import great_expectations as gx
from great_expectations.core.expectation_validation_result import (
    ExpectationSuiteValidationResultSchema,
)
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
from pyarrow import fs as pafs

from lakeprep.errors import InputError, UsageError
from lakeprep.storage import join_uri, list_relative, resolve
from quality.result import ValidationReport

log = logging.getLogger(f"lakeprep.{__name__}")

RESULT_FORMAT_VERSION = 1
SITE_NAME = "local_site"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe(text: str) -> str:
    return _UNSAFE.sub("-", text).strip("-") or "unnamed"


def save_validation_result(report: ValidationReport | Mapping[str, Any], folder: str | Path,
                           run_id: str, table: str | None = None,
                           extra: Mapping[str, Any] | None = None,
                           now: datetime | None = None) -> Path:
    """Write one validation result to ``folder`` as JSON and return its path.

    ``report`` is a ``ValidationReport`` or its ``to_dict()``; ``extra`` adds e.g. the gate's
    verdict and counts (``GateOutcome.to_dict()`` minus the report). The file holds ``run_id``,
    ``table``, ``saved_at``, ``report`` and ``ge_result`` (what :func:`build_data_docs` reads).
    """
    name, document = validation_document(report, run_id, table, extra, now)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(document, indent=2, default=str), encoding="utf-8")
    tmp.replace(path)  # a reader never sees half a file
    log.info("saved validation result of %s (run %s) to %s", document["table"], run_id, path)
    return path


def validation_document(report: ValidationReport | Mapping[str, Any], run_id: str,
                        table: str | None = None, extra: Mapping[str, Any] | None = None,
                        now: datetime | None = None) -> tuple[str, dict[str, Any]]:
    """The file name and JSON document :func:`save_validation_result` writes (a caller that
    writes elsewhere, e.g. to S3 through ``lakeprep.storage``, writes the same)."""
    data = report.to_dict() if isinstance(report, ValidationReport) else dict(report)
    if "ge_result" not in data:
        raise InputError(f"save_validation_result: a report with a 'ge_result' key expected, "
                         f"found keys {sorted(data)}")
    table = table or data.get("table") or data["ge_result"].get("suite_name", "unknown")
    saved_at = (now or datetime.now(UTC)).astimezone(UTC)
    name = f"{saved_at:%Y%m%dT%H%M%S%fZ}__{_safe(table)}__{_safe(run_id)}.json"
    return name, {
        "format_version": RESULT_FORMAT_VERSION,
        "run_id": run_id,
        "table": table,
        "saved_at": saved_at.isoformat(),
        **({"extra": dict(extra)} if extra else {}),
        "report": {k: v for k, v in data.items() if k != "ge_result"},
        "ge_result": data["ge_result"],
    }


def load_validation_results(source: str | Path | Iterable[str | Path]) -> list[dict[str, Any]]:
    """Read saved result files: a folder (every ``*.json`` in it, oldest first) or paths."""
    if isinstance(source, str | Path):
        folder = Path(source)
        if not folder.is_dir():
            raise InputError(f"validation results folder {folder} does not exist")
        paths = sorted(folder.glob("*.json"))
    else:
        paths = [Path(p) for p in source]
    documents = []
    for path in paths:
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"cannot read validation result {path}: {exc}") from None
        if not isinstance(document, dict) or "ge_result" not in document:
            raise InputError(f"{path} is not a lakeprep validation result (no 'ge_result' key)")
        documents.append(document)
    if not documents:
        raise InputError(f"no validation result files (*.json) found in {source}")
    return documents


def _suite_from_result(ge_result: Mapping[str, Any]) -> gx.ExpectationSuite:
    """Rebuild the suite from the result's expectation configs (the run's exact expectations)."""
    configurations = []
    for r in ge_result.get("results", []):
        config = r["expectation_config"]
        kwargs = {k: v for k, v in config.get("kwargs", {}).items() if k != "batch_id"}
        configurations.append(ExpectationConfiguration(
            type=config["type"], kwargs=kwargs, meta=config.get("meta") or {},
            id=config.get("id")))
    suite = gx.ExpectationSuite(name=ge_result["suite_name"],
                                meta=dict(ge_result.get("meta", {}).get("suite_meta", {})))
    for config in configurations:
        suite.add_expectation_configuration(config)
    return suite


def build_data_docs(results: str | Path | Iterable[str | Path], docs_root: str | Path,
                    reports: Mapping[str, str] | None = None) -> Path:
    """Render saved validation results as GE Data Docs under ``docs_root``; return index.html.

    ``results`` is a folder of files written by :func:`save_validation_result` or a list of
    them. A file-backed GE context is created in ``docs_root`` (its ``gx/`` folder); each result
    and its suite go into the context's stores, then GE builds the static site, which is then
    made self-contained (:func:`make_offline`). ``reports`` maps run ids to their run report
    (an HTML file); validation pages of those runs link to it.
    """
    documents = load_validation_results(results)
    docs_root = Path(docs_root)
    docs_root.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(docs_root))
    context.enable_analytics(False)  # no usage events leave the machine from a batch job
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    schema = ExpectationSuiteValidationResultSchema()
    for document in documents:
        ge_result = document["ge_result"]
        suite = _suite_from_result(ge_result)
        context.suites.add_or_update(suite)
        meta_run = (ge_result.get("meta") or {}).get("run_id") or {}
        run_id = RunIdentifier(run_name=document.get("run_id") or meta_run.get("run_name"),
                               run_time=document.get("saved_at") or meta_run.get("run_time"))
        # the page shows the result's own run id: make it the lakeprep run, not GE's __none__
        ge_result = {**ge_result, "meta": {**(ge_result.get("meta") or {}),
                                           "run_id": run_id.to_json_dict()}}
        result = schema.load(ge_result)
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite.name),
            run_id=run_id,
            batch_identifier=_safe(str(document.get("table", "batch"))),
        )
        context.validation_results_store.set(key, result)
    context.build_data_docs(site_names=[SITE_NAME])
    index = docs_root / "gx" / "uncommitted" / "data_docs" / SITE_NAME / "index.html"
    if not index.exists():
        raise InputError(f"GE did not write Data Docs to {index}; check the context in {docs_root}")
    make_offline(index.parent, reports or {})
    log.info("built Data Docs for %d validation result(s): %s", len(documents), index)
    return index


# offline Data Docs ---------------------------------------------------------------------------
_REMOTE_LINK = re.compile(r"<link\b[^>]*href=\"https?://[^\"]*\"[^>]*>", re.I)
_REMOTE_SCRIPT = re.compile(r"<script\b[^>]*src=\"https?://[^\"]*\"[^>]*>\s*</script>", re.I)
_REMOTE_CSS_URL = re.compile(r"url\(['\"]?https?://[^)]*\)")
_REMOTE_IMG = re.compile(r"(<img\b[^>]*?)src=\"https?://[^\"]*\"", re.I)
OFFLINE_MARK = "<!-- lakeprep: offline -->"

# What the pages need of Bootstrap 4, and icons as characters instead of the Font Awesome font
OFFLINE_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#212529;margin:0}
.container,.container-fluid{padding:0 16px}.row{display:flex;flex-wrap:wrap}
.col-12{flex:0 0 100%}.d-flex{display:flex}
@media(min-width:768px){.col-md-2{flex:0 0 18%;max-width:18%}.col-md-10{flex:0 0 80%}
.col-md-8{flex:0 0 66%}.col-md-4{flex:0 0 33%}}
.navbar{display:flex;align-items:center;padding:8px 16px;background:#f8f9fa;
border-bottom:1px solid #dee2e6}.navbar-brand img{height:28px}
.nav{list-style:none;padding-left:0}.breadcrumb{display:flex;list-style:none;padding:0;gap:6px}
table,.table{border-collapse:collapse;margin:6px 0;font-size:14px}
.table{width:100%}.table th,.table td,table th,table td{border:1px solid #dee2e6;padding:4px 8px;
text-align:left;vertical-align:top}thead th{background:#f1f3f5}
tr.clickable-row{cursor:pointer}tr.clickable-row:hover{background:#eef4fb}
.card{border:1px solid #dee2e6;border-radius:4px;margin:8px 0}.card-header{background:#f8f9fa;
padding:6px 12px;border-bottom:1px solid #dee2e6}.card-body{padding:8px 12px}
.alert{padding:8px 12px;border-radius:4px;margin:6px 0}.alert-secondary{background:#e2e3e5}
.text-danger{color:#b3261e}.text-success{color:#127a3a}.text-muted{color:#6c757d}
.btn{display:inline-block;padding:3px 10px;border:1px solid #6c757d;border-radius:4px;
background:#f8f9fa;color:#212529;text-decoration:none;font-size:13px}
.modal,.ge-walkthrough-modal,#ge-cta-footer,.invisible,.sr-only{display:none}
.fas,.fa{font-style:normal}.fa-times::before,.fa-times-circle::before{content:"\u2717";
color:#b3261e}.fa-check::before,.fa-check-circle::before{content:"\u2713";color:#127a3a}
.fa-exclamation-triangle::before{content:"\u26a0"}
[onclick^="clearTableFilters"]{display:none}
.lakeprep-run{margin:8px 16px;padding:8px 12px;background:#e3eefa;border-radius:4px}
"""

# The calls GE's pages make on jQuery and bootstrap-table, done with the DOM: tables drawn from
# their column/data options, ready handlers run, everything else a no-op.
OFFLINE_JS = """
(function(){
  function ready(fn){if(document.readyState!=='loading'){fn();}
    else{document.addEventListener('DOMContentLoaded',fn);}}
  function drawTable(el,o){
    var cols=o.columns||[],rows=o.data||[],h='<thead><tr>';
    cols.forEach(function(c){h+='<th>'+(c.title||c.field)+'</th>';});
    h+='</tr></thead><tbody>';
    rows.forEach(function(r){
      var link=r._table_row_link_path;
      h+='<tr'+(link?' class="clickable-row" data-href="'+link+'"':'')+'>';
      cols.forEach(function(c){var v=r[c.field];h+='<td>'+(v==null?'':v)+'</td>';});
      h+='</tr>';});
    el.innerHTML=h+'</tbody>';
    el.classList.add('table');
    el.querySelectorAll('tr.clickable-row').forEach(function(tr){
      tr.addEventListener('click',function(){window.location=tr.getAttribute('data-href');});});
  }
  function wrap(els){
    var w={length:els.length,
      bootstrapTable:function(o){if(typeof o==='object'){els.forEach(function(e){
        drawTable(e,o);});}return w;},
      ready:function(fn){ready(fn);return w;},
      data:function(k){return els[0]?els[0].getAttribute('data-'+k):undefined;}};
    ['on','modal','fadeIn','fadeOut','tooltip','prepend','removeClass','addClass','parent',
     'hide','show','datepicker','collapse','tab'].forEach(function(m){
      if(!w[m]){w[m]=function(){return w;};}});
    return w;}
  window.$=window.jQuery=function(sel){
    if(typeof sel==='function'){ready(sel);return wrap([]);}
    if(sel===document||sel===window){return wrap([]);}
    if(typeof sel==='string'){try{return wrap(Array.prototype.slice.call(
      document.querySelectorAll(sel)));}catch(e){return wrap([]);}}
    return wrap(sel&&sel.nodeType?[sel]:[]);};
})();
"""


def publish_data_docs(results_uri: str, docs_uri: str,
                      reports: Mapping[str, str] | None = None) -> str:
    """Data Docs of the results under ``results_uri``, kept at ``docs_uri`` (local or s3://);
    the index page's location.

    GE renders into a local folder; on an object store the results are fetched into a scratch
    folder first and the rendered site is uploaded next to the lake afterwards.
    """
    if "://" not in results_uri and "://" not in docs_uri:
        results = Path(results_uri)
        if not results.is_dir() or not any(results.glob("*.json")):
            raise UsageError(f"no validation results in {results}: run a job with a gated "
                             f"table first (e.g. lakeprep run ingest)")
        return str(build_data_docs(results, docs_uri, reports=reports))
    fs, root = resolve(results_uri)
    names = [n for n in list_relative(fs, root) if n.endswith(".json")]
    if not names:
        raise UsageError(f"no validation results in {results_uri}: run a job with a gated "
                         f"table first (e.g. lakeprep run ingest)")
    with tempfile.TemporaryDirectory(prefix="lakeprep-docs-") as tmp:
        local = Path(tmp) / "results"
        local.mkdir()
        for name in names:
            with fs.open_input_stream(f"{root}/{name}") as src:
                (local / Path(name).name).write_bytes(src.read())
        site = Path(tmp) / "docs"
        index = build_data_docs(local, site, reports=reports)
        dest_fs, dest = resolve(docs_uri)
        pafs.copy_files(str(site), dest, source_filesystem=pafs.LocalFileSystem(),
                        destination_filesystem=dest_fs)
        return join_uri(docs_uri, index.relative_to(site).as_posix())


def make_offline(site: str | Path, reports: Mapping[str, str] | None = None) -> int:
    """Make every page of the GE site at ``site`` open without the network; link validation
    pages to their run report (``reports``: run id -> report path). The number of pages."""
    site = Path(site)
    styles = site / "static" / "styles" / "data_docs_default_styles.css"
    ge_css = styles.read_text(encoding="utf-8") if styles.exists() else ""
    ge_css = _REMOTE_CSS_URL.sub("none", ge_css)
    head = (f"{OFFLINE_MARK}<style>{ge_css}\n{OFFLINE_CSS}</style>"
            f"<script>{OFFLINE_JS}</script>")
    pages = 0
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        if OFFLINE_MARK in text:
            continue
        text = _REMOTE_SCRIPT.sub("", _REMOTE_LINK.sub("", text))
        text = _REMOTE_CSS_URL.sub("none", text)
        # GE's logo is fetched from S3 with the context id in the URL: use the copy in static/
        logo = os.path.relpath(site / "static" / "images" / "logo-long.png", page.parent)
        def local_logo(m: re.Match[str], logo: str = logo) -> str:
            return f'{m.group(1)}src="{logo}"'

        text = _REMOTE_IMG.sub(local_logo, text)
        text = text.replace("</head>", head + "</head>", 1)
        link = _report_link(site, page, reports or {})
        if link:
            def with_link(m: re.Match[str], link: str = link) -> str:
                return m.group(1) + link

            text = re.sub(r"(<body[^>]*>)", with_link, text, count=1)
        page.write_text(text, encoding="utf-8")
        pages += 1
    return pages


def _report_link(site: Path, page: Path, reports: Mapping[str, str]) -> str:
    """The banner linking a validation page (validations/<suite>/<run>/<time>/<batch>.html) to
    the run report of its run."""
    parts = page.relative_to(site).parts
    if len(parts) < 4 or parts[0] != "validations":
        return ""
    run = parts[2]
    target = reports.get(run)
    if not target:
        return ""
    href = target if "://" in target else os.path.relpath(target, page.parent)
    return (f'<div class="lakeprep-run">lakeprep run <b>{html.escape(run)}</b>: '
            f'<a href="{html.escape(href)}">run report</a></div>')
