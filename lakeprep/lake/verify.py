"""A table's Delta log checked against its files, before a job trusts it and on demand.

Cheap (every job, each table it opens): the last commit is complete (every line whole JSON, a
``commitInfo``, as many ``add``/``remove`` actions as its own metrics say: a commit cut after
its first line or emptied is caught here, before it is read or committed on top of) and every
data file of the current snapshot is present with the size the log records.

Full (``lakeprep verify``): every commit in the log checked that way, plus each added file's row
count in the log's stats against its Parquet footer, and each commit's rows against the
``rows_written`` lakeprep recorded in its metadata.

Each finding says what is damaged and what to do; ``check`` raises one ``LakeTableError`` line.

Example::

    problems = verify_table("/tmp/lake/bronze/orders", full=True)
    [p.line() for p in problems]
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
from pyarrow import fs as pafs

from lakeprep.errors import LakeTableError
from lakeprep.storage import delta_storage_options, parquet_row_counts, resolve

log = logging.getLogger(__name__)
_COMMIT = re.compile(r"^(\d{20})\.json$")


@dataclass(frozen=True)
class Finding:
    """One piece of damage: where, what, and what to do about it."""

    location: str
    what: str
    todo: str

    def line(self) -> str:
        return f"{self.location}: {self.what}; {self.todo}"


@dataclass
class Summary:
    """What a full verify looked at."""

    location: str
    versions: int = 0
    files: int = 0
    rows: int = 0
    findings: list[Finding] | None = None


def check(location: str, storage_options: dict[str, str] | None = None) -> None:
    """The cheap verify; raises ``LakeTableError`` (exit 4) on the first damage found."""
    findings = verify_table(location, storage_options, full=False).findings or []
    if findings:
        more = f" (and {len(findings) - 1} more: lakeprep verify)" if len(findings) > 1 else ""
        raise LakeTableError(findings[0].line() + more)


def verify_table(location: str, storage_options: dict[str, str] | None = None,
                 full: bool = True) -> Summary:
    """Check the table at ``location``; ``full`` checks every commit and every row count."""
    location = location.rstrip("/")
    fs, root = _filesystem(location, storage_options or {})
    summary = Summary(location, findings=[])
    commits = _commits(fs, f"{root}/_delta_log")
    if not commits:
        return summary
    summary.versions = len(commits)
    found = summary.findings
    assert found is not None
    for version, path in (commits if full else commits[-1:]):
        problem = _check_commit(fs, path, version)
        if problem:
            last = version == commits[-1][0]
            found.append(Finding(location, f"commit {version} ({path}) {problem}", (
                f"the table is intact as of version {version - 1}: move that file out of "
                f"_delta_log (keep it to inspect) and run again the job that wrote it"
                if last else "restore _delta_log from a backup; the versions after it cannot be "
                             "trusted")))
    if found:
        return summary  # the snapshot cannot be read safely
    active = _active_files(location, storage_options)
    summary.files = len(active)
    summary.rows = sum(r or 0 for _, _, r in active)
    on_disk = {i.path[len(root) + 1:]: i.size for i in fs.get_file_info(
        pafs.FileSelector(root, recursive=True, allow_not_found=True))
        if i.type == pafs.FileType.File}
    missing = [p for p, _, _ in active if p not in on_disk]
    if missing:
        found.append(Finding(location, f"{len(missing)} data file(s) of the current version are "
                             f"missing (e.g. {missing[0]})", (
                                 "restore them (e.g. S3 versioning, a backup), or restore the "
                                 "table to a version before they were added and re-run the jobs "
                                 "since")))
    resized = [(p, on_disk[p], s) for p, s, _ in active if p in on_disk and on_disk[p] != s]
    if resized:
        p, actual, logged = resized[0]
        found.append(Finding(location, f"{len(resized)} data file(s) differ in size from the "
                             f"log (e.g. {p}: {actual} bytes, the log says {logged})",
                             "they were overwritten or cut: restore them from a backup"))
    if full and not found:
        paths = {f"{location}/{p}": (p, rows) for p, _, rows in active if rows is not None}
        counted = parquet_row_counts(list(paths))
        wrong = [(paths[full_path][0], counted.get(full_path), paths[full_path][1])
                 for full_path in paths if counted.get(full_path) != paths[full_path][1]]
        if wrong:
            p, actual, logged = wrong[0]
            found.append(Finding(location, f"{len(wrong)} data file(s) hold another row count "
                                 f"than the log's stats (e.g. {p}: {actual}, the log says "
                                 f"{logged})", "restore them from a backup"))
    return summary


def has_log(location: str, storage_options: dict[str, str] | None = None) -> bool:
    """True when a Delta log with at least one commit is at ``location``."""
    fs, root = _filesystem(location.rstrip("/"), storage_options or {})
    return bool(_commits(fs, f"{root}/_delta_log"))


def _filesystem(location: str, options: dict[str, str]) -> tuple[pafs.FileSystem, str]:
    """The table's filesystem: the one S3 access of the process (``configure_s3``), with the
    endpoint delta-rs is given too; ``options`` (``lake.storage_options``) are delta-rs' own."""
    return resolve(location.replace("s3a://", "s3://"))


def _commits(fs: pafs.FileSystem, log_dir: str) -> list[tuple[int, str]]:
    infos = fs.get_file_info(pafs.FileSelector(log_dir, allow_not_found=True))
    out = []
    for i in infos:
        m = _COMMIT.match(i.base_name)
        if m and i.type == pafs.FileType.File:
            out.append((int(m.group(1)), i.path))
    return sorted(out)


def _check_commit(fs: pafs.FileSystem, path: str, version: int) -> str | None:
    """What is wrong with one commit file, or None."""
    with fs.open_input_stream(path) as f:
        text = f.read().decode("utf-8", errors="replace")
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if not lines:
        return "is empty"
    actions: list[dict[str, Any]] = []
    for n, ln in enumerate(lines, 1):
        try:
            actions.append(json.loads(ln))
        except json.JSONDecodeError:
            return f"is cut off: line {n} of {len(lines)} is not complete JSON"
    info = next((a["commitInfo"] for a in actions if "commitInfo" in a), None)
    if info is None:
        return "is incomplete: it has no commitInfo"
    adds = sum(1 for a in actions if "add" in a)
    removes = sum(1 for a in actions if "remove" in a)
    expected = _expected_files(info)
    if expected is not None and (adds, removes) != (
            expected[0] if expected[0] is not None else adds,
            expected[1] if expected[1] is not None else removes):
        return (f"is incomplete: {adds} added and {removes} removed file(s), its metrics say "
                f"{expected[0]} and {expected[1]}")
    rows = _lakeprep_metadata(info).get("operation_metrics", {}).get("rows_written")
    stats = [json.loads(a["add"].get("stats") or "{}").get("numRecords") for a in actions
             if "add" in a]
    if isinstance(rows, int) and all(isinstance(s, int) for s in stats) and sum(stats) != rows:
        return f"is inconsistent: its files hold {sum(stats)} rows, lakeprep wrote {rows}"
    return None


def _lakeprep_metadata(info: dict[str, Any]) -> dict[str, Any]:
    raw = info.get("userMetadata")
    if not isinstance(raw, str):
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _expected_files(info: dict[str, Any]) -> tuple[int | None, int | None] | None:
    """(added, removed) files a commit says it made: lakeprep's metadata (deltalake engine),
    else delta-spark's operationMetrics; None when neither says."""
    m = _lakeprep_metadata(info).get("operation_metrics") or {}
    if isinstance(m.get("files_added"), int):
        return m["files_added"], m.get("files_removed")
    op = info.get("operationMetrics") or {}
    for added, removed in (("numTargetFilesAdded", "numTargetFilesRemoved"),
                           ("numAddedFiles", "numRemovedFiles"), ("numFiles", None)):
        if added in op:
            return int(op[added]), int(op[removed]) if removed and removed in op else None
    return None


def _active_files(location: str, storage_options: dict[str, str] | None
                  ) -> list[tuple[str, int, int | None]]:
    """(path relative to the root, size, rows) of every file of the latest snapshot."""
    from deltalake import DeltaTable
    from deltalake.exceptions import DeltaError

    try:
        dt = DeltaTable(location, storage_options=delta_storage_options(location,
                                                                        storage_options) or None)
        rows = pa.table(dt.get_add_actions(flatten=True)).to_pylist()
    except (DeltaError, OSError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise LakeTableError(f"{location}: the Delta log cannot be read ({first}); run "
                             f"lakeprep verify for details") from None
    return [(unquote(r["path"]), int(r["size_bytes"]),
             None if r.get("num_records") is None else int(r["num_records"])) for r in rows]
