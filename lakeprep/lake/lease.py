"""One writer per table at a time: a lease file in the table's own folder.

A job that writes a table first creates ``<table>/_lakeprep_lease.json`` with a create that
fails when the file exists (``O_EXCL`` on local disks, ``If-None-Match: *`` on S3, which has
conditional writes since 2024), writes into it who holds it (run id, job, host, pid, since when),
and removes it when done, whatever happened. A second run on the same table either waits for the
lease (``wait_s``; the shared ingest log is held only for its short merge, so writers of
different tables queue for it) or stops with a ``LakeTableError`` (exit 4) naming the holder.
Delta readers ignore the file (names starting with ``_`` are not data).

A lease outlives its run only when the process was killed. On the same host, a lease whose
process is gone is taken over (with a warning); from another host it cannot be told apart from a
live run, so the message says which file to remove once that run is known to be dead.

>>> with hold("/tmp/lake/bronze/orders", run_id="r1", job="ingest"):  # doctest: +SKIP
...     ...  # read, write and commit the table
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from lakeprep.errors import LakeTableError
from lakeprep.storage import s3_access

log = logging.getLogger(__name__)
LEASE_FILE = "_lakeprep_lease.json"
_POLL_S = 0.2


@contextmanager
def hold(location: str, run_id: str, job: str, wait_s: float = 0.0) -> Iterator[None]:
    """Hold the lease of the table at ``location`` for the ``with`` block."""
    path = f"{location.rstrip('/')}/{LEASE_FILE}"
    me = {"run_id": run_id, "job": job, "host": socket.gethostname(), "pid": os.getpid(),
          "since": datetime.now(UTC).isoformat(timespec="seconds")}
    created = _missing_dirs(path)
    deadline = time.monotonic() + wait_s
    while True:
        if _create(path, json.dumps(me)):
            break
        holder = _read(path)
        if holder is None:
            continue  # released between our create and our read: try again
        if _dead(holder):
            log.warning("%s: taking over the lease of run %s (process %s on %s is gone)",
                        location, holder.get("run_id"), holder.get("pid"), holder.get("host"))
            _remove(path)
            continue
        if time.monotonic() >= deadline:
            raise LakeTableError(
                f"{location}: run {holder.get('run_id')} ({holder.get('job')}, pid "
                f"{holder.get('pid')} on {holder.get('host')}, since {holder.get('since')}) is "
                f"writing this table; run again when it has finished (if that run is dead, "
                f"remove {path})")
        time.sleep(_POLL_S)
    try:
        yield
    finally:
        if (_read(path) or {}).get("run_id") == run_id:
            _remove(path)
        for folder in created:  # a run that wrote nothing leaves no empty table folder
            try:
                os.rmdir(folder)
            except OSError:
                break


def _missing_dirs(path: str) -> list[str]:
    """The local folders above ``path`` that do not exist yet, deepest first."""
    if _s3(path) is not None:
        return []
    out = []
    folder = os.path.dirname(os.path.abspath(_local(path)))
    while not os.path.exists(folder):
        out.append(folder)
        folder = os.path.dirname(folder)
    return out


def _dead(holder: dict[str, Any]) -> bool:
    if holder.get("host") != socket.gethostname() or not isinstance(holder.get("pid"), int):
        return False
    try:
        os.kill(holder["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _s3(path: str) -> tuple[str, str] | None:
    for scheme in ("s3://", "s3a://"):
        if path.startswith(scheme):
            bucket, _, key = path[len(scheme):].partition("/")
            return bucket, key
    return None


def _local(path: str) -> str:
    for prefix in ("file://", "file:"):
        if path.startswith(prefix):
            return path[len(prefix):]
    return path


def _create(path: str, text: str) -> bool:
    """Create ``path`` holding ``text`` unless it exists; True when this call created it."""
    s3 = _s3(path)
    if s3 is not None:
        from botocore.exceptions import ClientError

        try:
            s3_access().client().put_object(Bucket=s3[0], Key=s3[1], Body=text.encode(),
                                          IfNoneMatch="*")
            return True
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("PreconditionFailed",
                                                           "ConditionalRequestConflict"):
                return False
            raise LakeTableError(f"{path}: cannot create the table's lease: {e}") from None
    local = _local(path)
    try:
        os.makedirs(os.path.dirname(local), exist_ok=True)
        fd = os.open(local, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    except OSError as e:
        raise LakeTableError(f"{local}: cannot create the table's lease ({e.strerror}); is the "
                             f"lake writable?") from None
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return True


def _read(path: str) -> dict[str, Any] | None:
    s3 = _s3(path)
    try:
        if s3 is not None:

            body = s3_access().client().get_object(Bucket=s3[0], Key=s3[1])["Body"].read()
        else:
            with open(_local(path), "rb") as f:
                body = f.read()
    except Exception:  # gone (released) or unreadable: the caller tries again
        return None
    try:
        value = json.loads(body or b"{}")
    except json.JSONDecodeError:
        value = {}  # a holder killed between create and write: no pid, so never "dead"
    return value if isinstance(value, dict) else {}


def _remove(path: str) -> None:
    s3 = _s3(path)
    try:
        if s3 is not None:

            s3_access().client().delete_object(Bucket=s3[0], Key=s3[1])
        else:
            os.remove(_local(path))
    except FileNotFoundError:
        pass
