"""The run report: Spark aggregations checked against plain Python on the same rows, the page
rebuilt by `lakeprep report latest`, and the report and Data Docs opened by headless Chromium
with the network off (plots drawn, nothing fetched; screenshots kept in test-artifacts/)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("LAKEPREP_TEST_ARTIFACTS", REPO / "test-artifacts"))


def test_report_command_rebuilds_a_run_report_by_id_or_latest(demo_run, monkeypatch, capsys):
    from jobs.cli import main

    root, settings, rec = demo_run
    monkeypatch.setenv("LAKEPREP_DATA", str(root))
    conf = ["--conf-dir", settings.conf_dir, "--output", "json"]
    report = Path(rec.report_path)
    report.unlink()
    assert main(["report", rec.run_id, *conf]) == 0
    line = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert line["report"] == str(report) and report.exists()
    # latest: the newest run record (run ids start with their UTC start time)
    newest = max(p.stem for p in (root / "_lakeprep" / "runs").glob("*.json"))
    assert main(["report", "latest", *conf]) == 0
    line = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert Path(line["report"]).name == f"{newest}.html"
    assert main(["report", "no-such-run", "--conf-dir", settings.conf_dir]) == 2


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    return found


# Run in the page: record every resource that failed to load (capturing error events), every
# non-file resource requested, the SVG and drawn image count, then expose them to --dump-dom.
PROBE = """<script>
window.__failed = [];
window.addEventListener('error', function (e) {
  var t = e.target; if (t && t !== window) { window.__failed.push(t.src || t.href || t.tagName); }
}, true);
window.addEventListener('load', function () {
  setTimeout(function () {
    var remote = performance.getEntriesByType('resource').map(function (r) { return r.name; })
      .filter(function (u) { return u.indexOf('file:') !== 0; });
    var imgs = Array.prototype.slice.call(document.images);
    var probe = document.createElement('pre');
    probe.id = 'lakeprep-probe';
    probe.textContent = JSON.stringify({failed: window.__failed, remote: remote,
      svg: document.querySelectorAll('svg').length,
      images: imgs.length, broken: imgs.filter(function (i) { return !i.naturalWidth; }).length,
      rows: document.querySelectorAll('tbody tr').length});
    document.body.appendChild(probe);
  }, 200);
});
</script>"""


def _open_offline(page: Path, screenshot: Path) -> dict:
    """Open ``page`` (a copy with the probe) in headless Chromium with no network."""
    chromium = _chromium()
    probe = page.with_name(page.stem + ".probe.html")
    text = page.read_text(encoding="utf-8")
    probe.write_text(text.replace("<head>", "<head>" + PROBE, 1) if "<head>" in text else
                     PROBE + text, encoding="utf-8")
    offline = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
               "--virtual-time-budget=5000", "--window-size=1280,2400",
               f"--user-data-dir={page.parent / '.chromium-profile'}"]
    try:
        dom = subprocess.run([chromium, *offline, "--dump-dom", probe.as_uri()],
                             capture_output=True, text=True, timeout=120, check=True).stdout
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([chromium, *offline, f"--screenshot={screenshot}", page.as_uri()],
                       capture_output=True, timeout=120, check=True)
    finally:
        probe.unlink()
        shutil.rmtree(page.parent / ".chromium-profile", ignore_errors=True)
    start = dom.index('<pre id="lakeprep-probe">') + len('<pre id="lakeprep-probe">')
    import html

    return json.loads(html.unescape(dom[start:dom.index("</pre>", start)]))


def test_report_and_data_docs_render_offline_in_chromium(demo_run):
    root, settings, rec = demo_run
    shot = ARTIFACTS / "run_report.png"
    seen = _open_offline(Path(rec.report_path), shot)
    assert seen["failed"] == [] and seen["remote"] == [] and seen["broken"] == 0
    assert seen["svg"] >= 10  # histograms, bars, heatmap, class balance, drift, lineage graph
    assert shot.stat().st_size > 10_000

    shot = ARTIFACTS / "data_docs_index.png"
    seen = _open_offline(Path(rec.data_docs), shot)
    assert seen["failed"] == [] and seen["remote"] == [] and seen["broken"] == 0
    assert seen["images"] >= 1  # GE's logo, from the site's own static folder
    # the validation and suite tables are drawn from their data without bootstrap-table
    assert seen["rows"] >= 4
    assert shot.stat().st_size > 5_000


def test_report_groups_quarantine_reasons_one_row_per_column_and_code(demo_run, spark):
    """The demo's defects (unparsable timestamps and amounts, malformed lines, gate failures)
    are one row per table, level, column and code, with counts and at most three examples."""
    import html
    import re

    from lakeprep.ingest.problems import group_problems
    from lakeprep.runtime import JobContext

    _, settings, rec = demo_run
    page = Path(rec.report_path).read_text(encoding="utf-8")
    section = page[page.index('<section id="quarantine">'):]
    section = section[:section.index("</section>")]
    rows = [[html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", section) if "<td" in row]
    keys = [tuple(r[:4]) for r in rows]
    assert rows and len(keys) == len(set(keys))  # one row per table, level, column and code
    codes = re.compile(r"^(not_a_[a-z_]+|malformed_line|duplicate_key|invalid_utf8|case_clash|"
                       r"unusable_name|missing_required|out_of_range|not_finite|"
                       r"expectation:expect_[a-z_]+)$")
    assert all(codes.match(code) for _, _, _, code, _, _ in rows), rows  # no value inside
    assert any(code.startswith("not_a_") for _, _, _, code, _, _ in rows)
    # what the page shows is the grouping of each quarantine table, examples and all
    ctx = JobContext.start(settings, "test", spark=spark)
    expected = []
    for t in rec.tables:
        quarantine = ctx.table_at(settings.table(t.table).quarantine_location)
        if not quarantine.exists():
            continue
        summary = group_problems(quarantine.read(), 20)
        assert all(len(g.examples) <= 3 for g in summary.groups)
        expected += [[t.table, g.level, g.column or "", g.code, g.rows,
                      ", ".join(repr(e) for e in g.examples)] for g in summary.groups]
    assert [[*r[:4], int(r[4].replace(",", "")), r[5]] for r in rows] == expected
