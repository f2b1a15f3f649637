"""The upstream tree of a table version, from commit metadata down to the raw files.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.tree import Tree

from lakeprep.errors import LakeprepError, LakeTableError
from lakeprep.lineage.datasets import Tables, _open

if TYPE_CHECKING:
    from lakeprep.lake import Commit, LakeTable

log = logging.getLogger(__name__)

# the lineage tree ----------------------------------------------------------------------------
def lineage_graph(ctx: Tables, table: str, version: int | None = None, max_depth: int = 20,
                  max_files: int = 10) -> dict[str, Any]:
    """The lineage of ``table`` at ``version`` (latest when None) as nested dicts: each table
    node has ``table, version, status, job, run_id, time, gate, counts, inputs``; raw file
    nodes have ``files`` (the first ``max_files``), ``file_count``, ``more_files``, ``bytes``.
    ``status`` is ``lakeprep``, ``foreign`` (no lakeprep metadata), ``missing``, ``repeated``
    (shown earlier in the tree) or ``truncated`` (deeper than ``max_depth``).

    Example::

        lineage_graph(ctx, "customer_features")["inputs"][0]["version"]
        # -> 4
    """
    t = ctx.table(table)
    history = t.history()
    if not history:
        raise LakeTableError(f"table {table!r} at {t.location}: no Delta table there yet "
                             f"(nothing was written); no lineage to show")
    if version is not None and all(c.version != version for c in history):
        raise LakeTableError(f"table {table!r} at {t.location}: no version {version} in its "
                             f"history; versions {history[-1].version}..{history[0].version}")
    walker = _Walker(ctx, max_depth, max_files)
    walker.histories[t.location] = history
    return walker.table_node(table, version if version is not None else history[0].version,
                             t, depth=0)


def lineage_tree(ctx: Tables, table: str, version: int | None = None, max_depth: int = 20,
                 max_files: int = 10) -> Tree:
    """``lineage_graph`` as a rich Tree, ready for ``rich.print``.

    Example::

        rich.print(lineage_tree(ctx, "orders", 3))
    """
    return render_tree(lineage_graph(ctx, table, version, max_depth, max_files))


def render_tree(node: Mapping[str, Any], parent: Tree | None = None) -> Tree:
    """A rich Tree of a ``lineage_graph`` node and everything below it."""
    label = _label(node)
    branch = Tree(label) if parent is None else parent.add(label)
    if node.get("kind") == "files":
        for f in node.get("files") or []:
            branch.add(f"{escape(str(f.get('path')))} [dim]({_size(f.get('size'))})[/]")
        if node.get("more_files"):
            branch.add(f"[dim]+{node['more_files']} more files[/]")
    for child in node.get("inputs") or []:
        render_tree(child, branch)
    return branch


class _Walker:
    def __init__(self, ctx: Tables, max_depth: int, max_files: int):
        self.ctx, self.max_depth, self.max_files = ctx, max_depth, max_files
        self.histories: dict[str, list[Commit]] = {}
        self.seen: set[tuple[str, int]] = set()

    def table_node(self, name: str, version: int | None, table: LakeTable, depth: int
                   ) -> dict[str, Any]:
        node: dict[str, Any] = {"kind": "table", "table": name, "version": version,
                                "location": table.location, "inputs": []}
        key = (table.location, version if version is not None else -1)
        if key in self.seen:
            return {**node, "status": "repeated", "note": "shown above"}
        self.seen.add(key)
        commit = self._commit(table, version)
        if commit is None:
            return {**node, "status": "missing",
                    "note": "version not in the table's history (no table, vacuumed or "
                            "expired log)" if version is not None else "no version recorded"}
        meta = commit.metadata
        node.update(operation=commit.operation, time=commit.timestamp.isoformat())
        if not meta.get("run_id") or not meta.get("job"):
            return {**node, "status": "foreign",
                    "note": "no lakeprep metadata (written by another engine or tool)"}
        gate = meta.get("gate")
        gate = gate if isinstance(gate, Mapping) else {}
        node.update(status="lakeprep", job=meta.get("job"), run_id=meta.get("run_id"),
                    gate=gate.get("verdict"), counts=meta.get("counts") or {},
                    gate_quarantined=(gate.get("counts") or {}).get("quarantined", 0))
        if depth >= self.max_depth:
            return {**node, "status": "truncated", "note": f"deeper than {self.max_depth}"}
        node["inputs"] = [self.input_node(e, depth + 1) for e in meta.get("inputs") or []
                          if isinstance(e, Mapping)]
        return node

    def input_node(self, entry: Mapping[str, Any], depth: int) -> dict[str, Any]:
        name = str(entry.get("table", "?"))
        if entry.get("kind") == "files":
            files = [f for f in entry.get("files") or [] if isinstance(f, Mapping)]
            shown = [{"path": f.get("path"), "size": f.get("size")}
                     for f in files[:self.max_files]]
            return {"kind": "files", "table": name, "files": shown, "file_count": len(files),
                    "more_files": max(0, len(files) - self.max_files),
                    "bytes": sum(int(f.get("size") or 0) for f in files)}
        if entry.get("kind") != "table":
            return {"kind": str(entry.get("kind")), "table": name, "status": "unknown",
                    "note": f"input of unknown kind {entry.get('kind')!r}", "inputs": []}
        version = entry.get("version")
        try:
            table = _open(self.ctx, name, entry.get("location"))
        except LakeprepError as e:
            return {"kind": "table", "table": name, "version": version, "status": "missing",
                    "note": str(e), "inputs": []}
        return self.table_node(name, version, table, depth)

    def _commit(self, table: LakeTable, version: int | None) -> Commit | None:
        if version is None:
            return None
        if table.location not in self.histories:
            try:
                self.histories[table.location] = table.history()
            except Exception as e:  # noqa: BLE001 - an unreadable upstream is shown, not raised
                log.warning("lineage: cannot read the history of %s: %s", table.location, e)
                self.histories[table.location] = []
        return next((c for c in self.histories[table.location] if c.version == version), None)


def _label(node: Mapping[str, Any]) -> str:
    name = f"[bold]{escape(str(node.get('table')))}[/]"
    if node.get("kind") == "files":
        return (f"{name} [dim]raw files[/]: {node.get('file_count')} file(s), "
                f"{_size(node.get('bytes'))}")
    parts = []
    status = node.get("status")
    if node.get("job"):
        parts += [str(node["job"]), f"run {node.get('run_id')}"]
    if node.get("time"):
        parts.append(datetime.fromisoformat(node["time"]).strftime("%Y-%m-%d %H:%M:%S UTC"))
    if node.get("counts"):
        parts.append(" ".join(f"{k}={v}" for k, v in node["counts"].items()))
    if status == "foreign" and node.get("operation"):
        parts.append(str(node["operation"]))
    text = " · ".join([f"{name} v{node.get('version')}", *map(escape, parts)])
    if node.get("gate"):
        style = {"pass": "green", "warn": "yellow", "quarantine": "yellow"}.get(node["gate"],
                                                                                 "red")
        text += f" · gate [{style}]{escape(str(node['gate']))}[/]"
        if node.get("gate_quarantined"):  # beside counts.quarantined (the parse rejects)
            text += f" gate_quarantined={node['gate_quarantined']}"
    if status not in ("lakeprep", None):
        text += f" · [yellow]{escape(str(node.get('note') or status))}[/]"
    return text


def _size(n: Any) -> str:
    size = float(n or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


