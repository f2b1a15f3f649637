"""Self-contained HTML pages with plots: every chart is an inline SVG drawn by matplotlib (text
as paths, so no font or script is fetched), every style is in the page. Opens offline.

The plotting functions take small aggregates (bin counts, category counts, a correlation
matrix) that Spark computed; nothing here touches a DataFrame.

>>> page = Page("run r1")
>>> page.section("Numbers", table(["a", "b"], [[1, 2]]))
>>> "<table" in page.html()
True
"""

from __future__ import annotations

import html
import io
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1f2933;
background:#f5f7fa}
header{background:#1f3a5f;color:#fff;padding:16px 32px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;opacity:.85}main{padding:16px 32px;max-width:1400px}
section{background:#fff;border:1px solid #d9e2ec;border-radius:6px;margin:16px 0;padding:12px 20px}
h2{font-size:18px;margin:4px 0 12px;color:#1f3a5f}h3{font-size:15px;margin:12px 0 6px}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{border:1px solid #d9e2ec;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f0f4f8}td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#127a3a;font-weight:600}.bad{color:#b3261e;font-weight:600}.warn{color:#9a6700}
.grid{display:flex;flex-wrap:wrap;gap:12px}.grid figure{margin:0}
figure figcaption{font-size:12px;color:#52606d}code{font-size:12px}
pre{background:#f0f4f8;padding:8px;overflow-x:auto;font-size:12px}
"""


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}"
    return esc(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], raw: Sequence[int] = ()
          ) -> str:
    """An HTML table; numbers right-aligned; cells of the ``raw`` columns are HTML already."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, v in enumerate(row):
            if i in raw:
                cells.append(f"<td>{v}</td>")
            elif isinstance(v, int | float) and not isinstance(v, bool):
                cells.append(f'<td class="num">{number(v)}</td>')
            else:
                cells.append(f"<td>{esc(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def verdict(text: Any) -> str:
    """A verdict word styled by how good it is."""
    word = str(text)
    cls = {"pass": "ok", "passed": "ok", "ok": "ok", "true": "ok", "reconciled": "ok",
           "warn": "warn", "quarantine": "warn"}.get(word.lower(), "bad")
    return f'<span class="{cls}">{esc(word)}</span>'


class Page:
    """One HTML page assembled section by section."""

    def __init__(self, title: str, subtitle: str = ""):
        self.title, self.subtitle = title, subtitle
        self.parts: list[str] = []

    def section(self, heading: str, *body: str, anchor: str | None = None) -> None:
        ident = f' id="{esc(anchor)}"' if anchor else ""
        self.parts.append(f"<section{ident}><h2>{esc(heading)}</h2>{''.join(body)}</section>")

    def html(self) -> str:
        return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{esc(self.title)}</title><style>{CSS}</style></head><body>"
                f"<header><h1>{esc(self.title)}</h1><p>{esc(self.subtitle)}</p></header>"
                f"<main>{''.join(self.parts)}</main></body></html>")


# charts ----------------------------------------------------------------------------------------
def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=72)


def _svg(fig: Any, caption: str = "") -> str:
    buffer = io.StringIO()
    fig.tight_layout()
    # svg.fonttype "path": glyphs become paths, so the page needs no font from anywhere
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    # the RDF block only names namespaces and matplotlib's home page: not needed to draw
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg[svg.index("<svg"):], flags=re.S)
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f"<figure>{svg}{cap}</figure>"


def histogram(title: str, edges: Sequence[float], counts: Sequence[int]) -> str:
    """Bars of ``counts`` between consecutive ``edges`` (len(edges) == len(counts) + 1)."""
    fig = _figure(3.6, 2.4)
    ax = fig.subplots()
    widths = [b - a for a, b in zip(edges[:-1], edges[1:], strict=True)]
    ax.bar(edges[:-1], counts, width=widths, align="edge", color="#3e7cb1", edgecolor="white")
    ax.set_title(title, fontsize=10)
    ax.tick_params(labelsize=8)
    return _svg(fig)


def bars(title: str, labels: Sequence[str], values: Sequence[float], horizontal: bool = True,
         color: str = "#3e7cb1", threshold: float | None = None) -> str:
    """A bar chart (horizontal by default, longest labels fit); ``threshold`` draws a line."""
    n = max(1, len(labels))
    fig = _figure(4.2, max(1.6, 0.28 * n + 0.8) if horizontal else 2.6)
    ax = fig.subplots()
    short = [s if len(s) <= 28 else s[:27] + "…" for s in map(str, labels)]
    if horizontal:
        ax.barh(range(len(values)), values, color=color)
        ax.set_yticks(range(len(values)), short)
        ax.invert_yaxis()
        if threshold is not None:
            ax.axvline(threshold, color="#b3261e", linestyle="--", linewidth=1)
    else:
        ax.bar(range(len(values)), values, color=color)
        ax.set_xticks(range(len(values)), short)
    ax.set_title(title, fontsize=10)
    ax.tick_params(labelsize=8)
    return _svg(fig)


def stacked_shares(title: str, groups: Mapping[str, Mapping[str, int]]) -> str:
    """One stacked bar per group (e.g. split) of the shares of each key (e.g. label value)."""
    fig = _figure(4.2, 2.6)
    ax = fig.subplots()
    keys = sorted({k for g in groups.values() for k in g})
    names = list(groups)
    bottoms = [0.0] * len(names)
    palette = ["#3e7cb1", "#f0a202", "#2a9d8f", "#b3261e", "#6c757d"]
    for i, key in enumerate(keys):
        shares = []
        for name in names:
            total = sum(groups[name].values()) or 1
            shares.append(groups[name].get(key, 0) / total)
        ax.bar(names, shares, bottom=bottoms, label=f"{key}", color=palette[i % len(palette)])
        bottoms = [b + s for b, s in zip(bottoms, shares, strict=True)]
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    ax.tick_params(labelsize=8)
    return _svg(fig)


def heatmap(title: str, names: Sequence[str], matrix: Sequence[Sequence[float | None]]) -> str:
    """A correlation heatmap (-1..1); missing values (constant columns) are left blank."""
    n = len(names)
    fig = _figure(max(4.0, 0.42 * n + 2.0), max(3.4, 0.42 * n + 1.4))
    ax = fig.subplots()
    data = [[math.nan if v is None else v for v in row] for row in matrix]
    image = ax.imshow(data, cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(n), names, rotation=70, ha="right", fontsize=7)
    ax.set_yticks(range(n), names, fontsize=7)
    if n <= 14:
        for i in range(n):
            for j in range(n):
                if not math.isnan(data[i][j]):
                    ax.text(j, i, f"{data[i][j]:.2f}", ha="center", va="center", fontsize=6)
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_title(title, fontsize=10)
    return _svg(fig)


def graph(nodes: Sequence[Mapping[str, Any]], edges: Sequence[tuple[str, str]]) -> str:
    """A left-to-right drawing of a small DAG as inline SVG: ``nodes`` have ``id``, ``label``,
    ``detail``, ``kind``; ``edges`` go from input to output. Columns are longest-path levels."""
    ids = [n["id"] for n in nodes]
    level = {i: 0 for i in ids}
    for _ in ids:  # longest path from a source; a DAG settles within len(nodes) rounds
        for a, b in edges:
            if a in level and b in level and level[b] < level[a] + 1:
                level[b] = level[a] + 1
    columns: dict[int, list[str]] = {}
    for i in ids:
        columns.setdefault(level[i], []).append(i)
    box_w, box_h, gap_x, gap_y = 230, 54, 70, 18
    pos = {}
    for col, members in columns.items():
        for row, i in enumerate(members):
            pos[i] = (20 + col * (box_w + gap_x), 20 + row * (box_h + gap_y))
    width = 40 + (max(columns) + 1) * (box_w + gap_x) - gap_x if columns else 100
    height = 40 + max((len(m) for m in columns.values()), default=1) * (box_h + gap_y)
    fill = {"files": "#fdf3d8", "table": "#e3eefa", "export": "#e1f4ea"}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
             '<defs><marker id="arrow" markerWidth="10" markerHeight="8" refX="9" refY="4" '
             'orient="auto"><path d="M0,0 L10,4 L0,8 z" fill="#52606d"/></marker></defs>']
    for a, b in edges:
        if a in pos and b in pos:
            (x1, y1), (x2, y2) = pos[a], pos[b]
            parts.append(f'<path d="M{x1 + box_w},{y1 + box_h / 2} C{x1 + box_w + gap_x / 2},'
                         f'{y1 + box_h / 2} {x2 - gap_x / 2},{y2 + box_h / 2} {x2 - 2},'
                         f'{y2 + box_h / 2}" fill="none" stroke="#52606d" '
                         f'marker-end="url(#arrow)"/>')
    for n in nodes:
        x, y = pos[n["id"]]
        parts.append(f'<g><title>{esc(n.get("title") or n["label"])}</title>'
                     f'<rect x="{x}" y="{y}" width="{box_w}" height="{box_h}" rx="6" '
                     f'fill="{fill.get(n.get("kind", "table"), "#eee")}" stroke="#829ab1"/>'
                     f'<text x="{x + 8}" y="{y + 20}" font-weight="bold">'
                     f'{esc(_clip(n["label"], 30))}</text>'
                     f'<text x="{x + 8}" y="{y + 40}" fill="#52606d" font-size="11">'
                     f'{esc(_clip(n.get("detail", ""), 36))}</text></g>')
    parts.append("</svg>")
    return "<figure>" + "".join(parts) + "</figure>"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
