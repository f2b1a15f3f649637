"""Debris of killed runs: data files no commit names, saved models no commit names, exports
without a manifest.

A writer stages its files first and commits them after; a run killed in between leaves files
that nothing will ever name. They are invisible to readers (reads follow the Delta log, training
jobs the manifest) but take space and confuse anyone who lists the folder. Each sweep removes
only what no running job can be writing:

- ``sweep_table``: files under a table that no commit in its log (nor its checkpoint) names and
  that are older than its last commit; run it holding the table's lease (``lakeprep.lake.lease``).
- ``sweep_models``: pipeline-model folders that no commit of the feature table names
  (``features.pipeline_model``), saved after the oldest commit the log still has and before its
  last commit; run it holding the feature table's lease, which build-features holds from fitting
  to committing.
- ``sweep_exports``: export folders without ``manifest.json`` (the export's commit). An export
  holds a lease in its own folder while it writes: a folder whose lease is stale (its process
  gone, or expired) is taken over and removed; one whose lease is live is left alone; one with
  no lease at all only after ``grace_s``.

Every sweep takes ``dry_run``: then it lists what it would remove and removes nothing.

Example::

    sweep_table("/tmp/lake/bronze/orders")
    # -> ['20261201T101500-1f2e3d4c5b6a/order_date=2026-01-01/part-00000-....snappy.parquet']
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pyarrow.parquet as pq
from pyarrow import fs as pafs

from lakeprep.errors import LakeTableError
from lakeprep.lake.base import decode_metadata
from lakeprep.lake.lease import LEASE_FILE, hold, live_holder
from lakeprep.lake.verify import _commits, _filesystem
from lakeprep.sagemaker.manifest import MANIFEST_NAME

log = logging.getLogger(__name__)
EXPORT_GRACE_S = 6 * 3600.0  # an export folder with neither manifest nor lease: this old at least


def sweep_table(location: str, storage_options: dict[str, str] | None = None,
                dry_run: bool = False) -> list[str]:
    """Delete the uncommitted data files under ``location``; the paths removed (relative)."""
    fs, root = _filesystem(location.rstrip("/"), storage_options or {})
    log_dir = f"{root}/_delta_log"
    commits = _commits(fs, log_dir)
    if not commits:
        return []
    named: set[str] = set()
    for action in _actions(fs, commits):
        if action is None:
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
        removed.append(rel)
        if dry_run:
            continue
        fs.delete_file(info.path)
        crc = info.path.rsplit("/", 1)
        try:  # Hadoop's checksum companion, when the local filesystem wrote one
            fs.delete_file(f"{crc[0]}/.{crc[1]}.crc")
        except (FileNotFoundError, OSError):
            pass
    if removed and not dry_run:
        log.info("%s: removed %d data file(s) no commit names (left by a killed run)",
                 location, len(removed))
    return sorted(removed)


def sweep_models(models_root: str, table_location: str,
                 storage_options: dict[str, str] | None = None, dry_run: bool = False
                 ) -> list[str]:
    """Delete the model folders under ``models_root`` (one per run) that no commit of the
    feature table at ``table_location`` names; the folder names removed."""
    fs, table = _filesystem(table_location.rstrip("/"), storage_options or {})
    commits = _commits(fs, f"{table}/_delta_log")
    if not commits:
        return []  # the next build-features commits, and then sweeps
    named = set()
    for action in _actions(fs, commits):
        if action is None:
            return []
        meta = decode_metadata((action.get("commitInfo") or {}).get("userMetadata"))
        model = (meta.get("features") or {}).get("pipeline_model") if isinstance(
            meta.get("features"), dict) else None
        if isinstance(model, str):
            named.add(model.rstrip("/").rsplit("/", 1)[-1])
    # older commits may be gone from the log (log retention): a model saved before the oldest
    # one left may be named by one of them, so it stays
    oldest, newest = (fs.get_file_info(commits[i][1]).mtime for i in (0, -1))
    models_fs, root = _filesystem(models_root.rstrip("/"), storage_options or {})
    removed = []
    for name, folder in sorted(_folders(models_fs, root, depth=1).items()):
        if (name in named or folder.newest is None or oldest is None or newest is None
                or not (commits[0][0] == 0 or folder.newest > oldest)
                or folder.newest >= newest):
            continue
        removed.append(name)
        if not dry_run:
            models_fs.delete_dir(f"{root}/{name}")
    if removed and not dry_run:
        log.info("%s: removed %d saved model(s) no commit of %s names (left by a killed run)",
                 models_root, len(removed), table_location)
    return removed


@dataclass
class ExportSweep:
    """What ``sweep_exports`` removed, and the incomplete exports it left to running jobs."""

    removed: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)


def sweep_exports(exports_root: str, depth: int = 1, skip: Iterable[str] = (),
                  grace_s: float = EXPORT_GRACE_S, dry_run: bool = False) -> ExportSweep:
    """Delete the export folders ``depth`` levels under ``exports_root`` that have no
    ``manifest.json`` and that no running export writes (``skip``: folder names to leave)."""
    fs, root = _filesystem(exports_root.rstrip("/"), {})
    base = exports_root.rstrip("/")
    out = ExportSweep()
    me = f"sweep-{uuid.uuid4().hex[:8]}"
    old = datetime.now(UTC) - timedelta(seconds=grace_s)
    for name, folder in sorted(_folders(fs, root, depth).items()):
        complete = MANIFEST_NAME in folder.files
        if name in set(skip) or (complete and LEASE_FILE not in folder.files):
            continue
        if LEASE_FILE not in folder.files:
            if folder.newest is not None and folder.newest < old:
                out.removed.append(name)
                if not dry_run:
                    fs.delete_dir(f"{root}/{name}")
            continue
        if dry_run:
            if live_holder(f"{base}/{name}"):
                out.busy.append(name)
            elif not complete:
                out.removed.append(name)
            continue
        try:
            with hold(f"{base}/{name}", me, "vacuum"):  # takes over only a stale lease
                if not complete:
                    fs.delete_dir(f"{root}/{name}")
                    out.removed.append(name)
        except LakeTableError as e:
            log.info("%s: left alone, an export is writing it (%s)", name, e)
            out.busy.append(name)
    if out.removed and not dry_run:
        log.info("%s: removed %d export folder(s) without %s (left by a killed run)",
                 exports_root, len(out.removed), MANIFEST_NAME)
    return out


@dataclass
class _Folder:
    newest: datetime | None = None
    files: set[str] = field(default_factory=set)


def _folders(fs: pafs.FileSystem, root: str, depth: int) -> dict[str, _Folder]:
    """The folders ``depth`` levels under ``root``: their newest file's time and their files
    (relative). On S3, where folders do not exist, the key prefixes."""
    out: dict[str, _Folder] = {}
    selector = pafs.FileSelector(root, recursive=True, allow_not_found=True)
    for info in fs.get_file_info(selector):
        parts = info.path[len(root) + 1:].split("/")
        if info.type != pafs.FileType.File or len(parts) <= depth:
            continue
        folder = out.setdefault("/".join(parts[:depth]), _Folder())
        folder.files.add("/".join(parts[depth:]))
        if info.mtime is not None and (folder.newest is None or info.mtime > folder.newest):
            folder.newest = info.mtime
    return out


def _actions(fs: pafs.FileSystem, commits: list[tuple[int, str]]) -> Iterable[dict | None]:
    """Every action of the commits, in order; None for a line that is not JSON."""
    for _, path in commits:
        with fs.open_input_stream(path) as f:
            for line in f.read().decode("utf-8", errors="replace").splitlines():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    yield None


@dataclass
class Swept:
    """What vacuum removed (or, in a dry run, would remove) from one table."""

    table: str
    files: list[str]
    models: list[str]


@dataclass
class VacuumReport:
    dry_run: bool
    tables: list[Swept] = field(default_factory=list)
    exports: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # why a table or export was left alone
    closed_runs: int = 0

    @property
    def files(self) -> int:
        return sum(len(t.files) for t in self.tables)

    @property
    def models(self) -> int:
        return sum(len(t.models) for t in self.tables)

    def summary(self) -> str:
        verb, close = ("would remove", "would close") if self.dry_run else ("removed", "closed")
        return (f"vacuum{' (dry run)' if self.dry_run else ''}: {verb} "
                f"{_count(self.files, 'uncommitted data file')}, "
                f"{_count(self.models, 'orphan model')}, "
                f"{_count(len(self.exports), 'incomplete export')}, {close} "
                f"{_count(self.closed_runs, 'dangling run')}")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
