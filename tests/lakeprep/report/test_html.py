"""Self-contained pages: charts are inline SVG, nothing refers to the network."""

from __future__ import annotations

from lakeprep.report import html as R


def test_page_charts_are_inline_svg_without_remote_references():
    page = R.Page("t")
    page.section("charts", R.histogram("h", [0, 1, 2], [3, 4]), R.bars("b", ["x"], [1.0]),
                 R.heatmap("c", ["a", "b"], [[1.0, None], [None, 1.0]]),
                 R.graph([{"id": "a", "label": "a"}, {"id": "b", "label": "b"}], [("a", "b")]))
    html = page.html()
    assert html.count("<svg") == 4
    assert "https://" not in html and "<script" not in html
