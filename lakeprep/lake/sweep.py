"""Debris of killed runs out of a table's folder: data files no commit names.

A writer stages its data files first and commits them after; a run killed in between leaves
files that no version of the table will ever name. They are invisible to readers (reads follow
the log) but take space and confuse anyone who lists the folder. ``sweep_table`` removes the
files under a table that no commit in its log (nor its checkpoint) names and that are older than
its last commit, so that a writer staging files right now is never touched. Run it holding the
table's lease (``lakeprep.lake.lease``): ingest does after each table's commit, and
``lakeprep vacuum`` for every table.

>>> sweep_table("/tmp/lake/bronze/orders")  # doctest: +SKIP
['20261201T101500-1f2e3d4c5b6a/order_date=2026-01-01/part-00000-....snappy.parquet']
"""

from __future__ import annotations

import json
import logging
from urllib.parse import unquote

import pyarrow.parquet as pq
from pyarrow import fs as pafs

from lakeprep.lake.verify import _commits, _filesystem

log = logging.getLogger(__name__)


def sweep_table(location: str, storage_options: dict[str, str] | None = None) -> list[str]:
    """Delete the uncommitted data files under ``location``; the paths removed (relative)."""
    fs, root = _filesystem(location.rstrip("/"), storage_options or {})
    log_dir = f"{root}/_delta_log"
    commits = _commits(fs, log_dir)
    if not commits:
        return []
    named: set[str] = set()
    for _, path in commits:
        with fs.open_input_stream(path) as f:
            for line in f.read().decode("utf-8", errors="replace").splitlines():
                try:
                    action = json.loads(line)
                except json.JSONDecodeError:
                    return []  # a damaged log is verify's business: delete nothing
                for kind in ("add", "remove"):
                    if kind in action:
                        named |= {action[kind]["path"], unquote(action[kind]["path"])}
    for info in fs.get_file_info(pafs.FileSelector(log_dir)):
        if ".checkpoint" in info.base_name and info.base_name.endswith(".parquet"):
            with fs.open_input_file(info.path) as f:
                adds = pq.read_table(f, columns=["add"]).column("add").to_pylist()
            named |= {p for a in adds if a for p in (a["path"], unquote(a["path"]))}
    last_commit = fs.get_file_info(commits[-1][1]).mtime
    removed = []
    for info in fs.get_file_info(pafs.FileSelector(root, recursive=True)):
        rel = info.path[len(root) + 1:]
        if (info.type != pafs.FileType.File or rel in named
                or any(part.startswith(("_", ".")) for part in rel.split("/"))
                or info.mtime is None or last_commit is None or info.mtime >= last_commit):
            continue
        fs.delete_file(info.path)
        removed.append(rel)
        crc = info.path.rsplit("/", 1)
        try:  # Hadoop's checksum companion, when the local filesystem wrote one
            fs.delete_file(f"{crc[0]}/.{crc[1]}.crc")
        except (FileNotFoundError, OSError):
            pass
    if removed:
        log.info("%s: removed %d data file(s) no commit names (left by a killed run)",
                 location, len(removed))
    return sorted(removed)
