"""One writer per table at a time: a lease file in the table's own folder.

A job that writes a table first creates ``<table>/_lakeprep_lease.json`` with a create that
fails when the file exists (``O_EXCL`` on local disks, ``If-None-Match: *`` on S3, which has
conditional writes since 2024), writes into it who holds it (run id, job, host, pid, since when),
and removes it when done, whatever happened. A second run on the same table either waits for the
lease (``wait_s``; the shared ingest log is held only for its short merge, so writers of
different tables queue for it) or stops with a ``LakeTableError`` (exit 4) naming the holder.
Delta readers ignore the file (names starting with ``_`` are not data).

A lease outlives its run only when the process was killed. It says until when it holds
(``expires``, ``ttl_s`` after its last renewal); the holder renews it every third of that while
it runs, so only a dead holder's lease expires. A lease that has expired, or whose process is
gone (same host), is taken over with a warning. The takeover (and every renewal) replaces the
lease only if it is still the one read: on S3 a write with ``If-Match`` on its ETag, on a local
disk a compare-and-replace under an exclusive ``flock`` of one lock file in the temporary folder
(``lakeprep-leases.lock``; nothing is left in the lake), so of two runs taking over one stale
lease exactly one wins (on one host; a local lake shared by several hosts over NFS is not
covered). A lease without
``expires`` (written by an older lakeprep) from another host cannot be told apart from a live
run, so the message says which file to remove once that run is known to be dead.

Example::

    with hold("/tmp/lake/bronze/orders", run_id="r1", job="ingest"):
        ...  # read, write and commit the table
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from lakeprep import storage
from lakeprep.errors import InputError, LakeTableError
from lakeprep.uris import is_remote, local_path

log = logging.getLogger(__name__)
LEASE_FILE = "_lakeprep_lease.json"
LEASE_TTL_S = 600.0  # a killed run's lease blocks others this long at most (from any host)
_POLL_S = 0.2


@contextmanager
def hold(location: str, run_id: str, job: str, wait_s: float = 0.0,
         ttl_s: float = LEASE_TTL_S) -> Iterator[None]:
    """Hold the lease of the table at ``location`` for the ``with`` block."""
    path = f"{location.rstrip('/')}/{LEASE_FILE}"
    since = datetime.now(UTC).isoformat(timespec="seconds")

    def me() -> str:
        expires = datetime.now(UTC) + timedelta(seconds=ttl_s)
        return json.dumps({"run_id": run_id, "job": job, "host": socket.gethostname(),
                           "pid": os.getpid(), "since": since,
                           "expires": expires.isoformat(timespec="seconds")})

    created = _missing_dirs(path)
    deadline = time.monotonic() + wait_s
    while True:
        if _create(path, me()):
            break
        found = _read_tagged(path)
        if found is None:
            continue  # released between our create and our read: try again
        holder, tag = found
        why = _stale(holder)
        if why:
            log.warning("%s: taking over the lease of run %s (%s)", location,
                        holder.get("run_id"), why)
            if _take_over(path, tag, me()):
                break
            continue
        if time.monotonic() >= deadline:
            raise LakeTableError(
                f"{location}: run {holder.get('run_id')} ({holder.get('job')}, pid "
                f"{holder.get('pid')} on {holder.get('host')}, since {holder.get('since')}) is "
                f"writing this table; run again when it has finished ("
                + (f"if that run is dead, its lease expires at {holder['expires']}"
                   if holder.get("expires") else f"if that run is dead, remove {path}") + ")")
        time.sleep(_POLL_S)
    stop = threading.Event()
    renewer = threading.Thread(target=_renew, args=(path, run_id, me, ttl_s / 3, stop),
                               name=f"lease-{run_id}", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join()
        _release(path, run_id)
        for folder in created:  # a run that wrote nothing leaves no empty table folder
            try:
                os.rmdir(folder)
            except OSError:
                break


def _missing_dirs(path: str) -> list[str]:
    """The local folders above ``path`` that do not exist yet, deepest first."""
    if is_remote(path):
        return []
    out = []
    folder = os.path.dirname(os.path.abspath(local_path(path)))
    while not os.path.exists(folder):
        out.append(folder)
        folder = os.path.dirname(folder)
    return out


def live_holder(location: str) -> dict[str, Any] | None:
    """Who holds the lease at ``location``, unless nobody does or the lease is stale."""
    holder = _read(f"{location.rstrip('/')}/{LEASE_FILE}")
    return holder if holder is not None and _stale(holder) is None else None


def _renew(path: str, run_id: str, text: Any, every_s: float, stop: threading.Event) -> None:
    """Push the lease's ``expires`` forward every ``every_s`` until ``stop``."""
    while not stop.wait(every_s):
        found = _read_tagged(path)
        if found is None or found[0].get("run_id") != run_id:
            log.error("%s: run %s no longer holds this lease (taken over after it expired?); "
                      "another run may write the same table", path, run_id)
            return
        try:
            storage.replace_if(path, text().encode(), found[1])
        except Exception as e:  # a missed renewal is retried; the lease still runs for a while
            log.warning("%s: could not renew the lease: %s", path, e)


def _stale(holder: dict[str, Any]) -> str | None:
    """Why ``holder``'s lease may be taken over (expired, or its process gone), else None."""
    expires = holder.get("expires")
    if isinstance(expires, str):
        try:
            if datetime.fromisoformat(expires) < datetime.now(UTC):
                return f"it expired at {expires}"
        except ValueError:
            pass
    if _dead(holder):
        return f"process {holder.get('pid')} on {holder.get('host')} is gone"
    return None


def _dead(holder: dict[str, Any]) -> bool:
    return process_alive(holder.get("host"), holder.get("pid")) is False


def process_alive(host: Any, pid: Any) -> bool | None:
    """Whether process ``pid`` of ``host`` still runs; None when that cannot be told from here
    (another host, or no pid)."""
    if host != socket.gethostname() or not isinstance(pid, int):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it runs, as another user
        return True
    return True


def _create(path: str, text: str) -> bool:
    """Create the lease holding ``text`` unless one exists; True when this call created it."""
    try:
        return storage.create_exclusive(path, text.encode())
    except InputError as e:
        raise LakeTableError(f"{path}: cannot create the table's lease: {e}") from None


def _read(path: str) -> dict[str, Any] | None:
    found = _read_tagged(path)
    return None if found is None else found[0]


def _read_tagged(path: str) -> tuple[dict[str, Any], str] | None:
    """The lease's content and its tag (the condition of a later replace); None when there is
    no lease."""
    found = storage.read_tagged(path)
    if found is None:
        return None
    body, tag = found
    try:
        value = json.loads(body or b"{}")
    except json.JSONDecodeError:
        value = {}  # a holder killed between create and write: no pid, so never "dead"
    return (value if isinstance(value, dict) else {}), tag


def _take_over(path: str, tag: str, text: str) -> bool:
    """Replace the stale lease read with tag ``tag`` by ours; True when ours is in place."""
    try:
        storage.replace_if(path, text.encode(), tag)
        return True
    except storage.Changed:
        return False  # another run took it over first, its holder renewed it, or it is gone


def _release(path: str, run_id: str) -> None:
    """Remove the lease if ``run_id`` still holds it (the compare and the delete as one)."""
    found = _read_tagged(path)
    if found is not None and found[0].get("run_id") == run_id:
        storage.delete_if(path, found[1])
