"""Validation results as documents, and Great Expectations Data Docs rendered from them.

Pure: documents in, page files out (``{relative path: bytes}``); saving and reading them is the
caller's, through lakeprep's storage layer (``lakeprep.quality_store``). GE renders a site with
a file-backed context, which lives in a private scratch folder for the length of
:func:`render_data_docs`; the pages are then made to work offline: GE's pages load Bootstrap,
jQuery and bootstrap-table from CDNs, so every remote ``<link>``/``<script>`` is removed and the
page gets inline styles and a small inline script that draws GE's JavaScript tables as plain
HTML tables. Validation pages link to the lakeprep run report of their run when one is given.

Example::

    name, document = validation_document(report, run_id="r1")
    pages = render_data_docs([document], "lake/_lakeprep/quality/docs")
    pages[INDEX][:15]
    # -> b'<!DOCTYPE html>'
"""

from __future__ import annotations

import html
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

from lakeprep.errors import InputError
from lakeprep.uris import is_remote, relative_link
from quality.result import ValidationReport

log = logging.getLogger(__name__)

RESULT_FORMAT_VERSION = 1
SITE_NAME = "local_site"
# where the site's pages are, under the docs folder; the index page
SITE = f"gx/uncommitted/data_docs/{SITE_NAME}"
INDEX = f"{SITE}/index.html"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe(text: str) -> str:
    return _UNSAFE.sub("-", text).strip("-") or "unnamed"


def validation_document(report: ValidationReport | Mapping[str, Any], run_id: str,
                        table: str | None = None, extra: Mapping[str, Any] | None = None,
                        now: datetime | None = None) -> tuple[str, dict[str, Any]]:
    """The file name (``<UTC time>__<table>__<run id>.json``) and JSON document of one
    validation result.

    ``report`` is a ``ValidationReport`` or its ``to_dict()``; ``extra`` adds e.g. the gate's
    verdict and counts. The document holds ``run_id``, ``table``, ``saved_at``, ``report`` and
    ``ge_result`` (what :func:`render_data_docs` reads).
    """
    data = report.to_dict() if isinstance(report, ValidationReport) else dict(report)
    if "ge_result" not in data:
        raise InputError(f"validation result: a report with a 'ge_result' key expected, "
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


def render_data_docs(documents: Iterable[Mapping[str, Any]], docs_root: str,
                     reports: Mapping[str, str] | None = None) -> dict[str, bytes]:
    """The GE Data Docs site of ``documents``, as ``{path under docs_root: bytes}`` (the index
    page is :data:`INDEX`).

    ``docs_root`` is where the caller will keep the site (a folder or a URI); it only places
    the links from validation pages to their run report (``reports``: run id -> report path).
    """
    documents = list(documents)
    if not documents:
        raise InputError("no validation results to render")
    with tempfile.TemporaryDirectory(prefix="lakeprep-docs-") as tmp:
        context = gx.get_context(mode="file", project_root_dir=tmp)
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
            key = ValidationResultIdentifier(
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite.name),
                run_id=run_id,
                batch_identifier=_safe(str(document.get("table", "batch"))),
            )
            context.validation_results_store.set(key, schema.load(ge_result))
        context.build_data_docs(site_names=[SITE_NAME])
        site = Path(tmp) / SITE
        if not (site / "index.html").exists():
            raise InputError(f"GE did not render the Data Docs index ({INDEX})")
        make_offline(site, reports or {}, final_root=f"{docs_root.rstrip('/')}/{SITE}")
        pages = {f"{SITE}/{p.relative_to(site).as_posix()}": p.read_bytes()
                 for p in sorted(site.rglob("*")) if p.is_file()}
    log.info("rendered Data Docs of %d validation result(s): %d files", len(documents),
             len(pages))
    return pages


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


def make_offline(site: str | Path, reports: Mapping[str, str] | None = None,
                 final_root: str | None = None) -> int:
    """Make every page of the GE site at ``site`` open without the network; link validation
    pages to their run report (``reports``: run id -> report path, linked relative to where
    the site will be kept, ``final_root``, when that is a local folder). The number of pages."""
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
        link = _report_link(site, page, reports or {}, final_root)
        if link:
            def with_link(m: re.Match[str], link: str = link) -> str:
                return m.group(1) + link

            text = re.sub(r"(<body[^>]*>)", with_link, text, count=1)
        page.write_text(text, encoding="utf-8")
        pages += 1
    return pages


def _report_link(site: Path, page: Path, reports: Mapping[str, str],
                 final_root: str | None = None) -> str:
    """The banner linking a validation page (validations/<suite>/<run>/<time>/<batch>.html) to
    the run report of its run."""
    parts = page.relative_to(site).parts
    if len(parts) < 4 or parts[0] != "validations":
        return ""
    run = parts[2]
    target = reports.get(run)
    if not target:
        return ""
    where = page.parent if final_root is None or is_remote(final_root) else \
        Path(final_root, *parts[:-1])
    href = relative_link(target, str(where))
    return (f'<div class="lakeprep-run">lakeprep run <b>{html.escape(run)}</b>: '
            f'<a href="{html.escape(href)}">run report</a></div>')
