"""The table lease on a local disk: a stale lease is replaced only if it is still the one read,
so of several runs taking over one stale lease exactly one holds it; nothing is left in the lake.
(The same on S3, against a moto server: test_lease_s3.py.)"""

from __future__ import annotations

import json
import os
import threading

from lakeprep.errors import LakeTableError
from lakeprep.lake import lease
from lakeprep.lake.lease import LEASE_FILE, hold

DEAD = {"run_id": "dead", "job": "ingest", "host": "elsewhere", "pid": 1,
        "since": "2000-01-01T00:00:00+00:00", "expires": "2000-01-01T00:10:00+00:00"}


def _stale_lease(tmp_path):
    table = tmp_path / "bronze" / "orders"
    table.mkdir(parents=True)
    (table / LEASE_FILE).write_text(json.dumps(DEAD))
    return table


def test_a_stale_lease_read_once_is_taken_over_once(tmp_path):
    table = _stale_lease(tmp_path)
    path = str(table / LEASE_FILE)
    holder, tag = lease._read_tagged(path)
    assert holder["run_id"] == "dead"
    assert lease._take_over(path, tag, json.dumps({"run_id": "a"}))
    # a second run that read the same stale lease finds it changed: it does not replace a's
    assert not lease._take_over(path, tag, json.dumps({"run_id": "b"}))
    assert json.loads((table / LEASE_FILE).read_text())["run_id"] == "a"
    os.remove(path)
    # a lease released meanwhile is not recreated by a takeover either (the create races)
    assert not lease._take_over(path, tag, json.dumps({"run_id": "c"}))
    assert not (table / LEASE_FILE).exists()


def test_of_many_runs_taking_over_one_stale_lease_exactly_one_holds_it(tmp_path):
    table = _stale_lease(tmp_path)
    runs = 8
    start, release = threading.Barrier(runs), threading.Event()
    held: list[str] = []
    refused: list[str] = []

    def run(i: int) -> None:
        start.wait()
        try:
            with hold(str(table), run_id=f"r{i}", job="ingest"):
                held.append(f"r{i}")
                assert json.loads((table / LEASE_FILE).read_text())["run_id"] == f"r{i}"
                release.wait(60)
        except LakeTableError as e:
            assert "is writing this table" in str(e)
            refused.append(f"r{i}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(runs)]
    for t in threads:
        t.start()
    for _ in range(600):  # every run has either taken the lease or been refused
        if len(held) + len(refused) == runs:
            break
        threading.Event().wait(0.05)
    release.set()
    for t in threads:
        t.join(60)
    assert len(held) == 1, f"held by {held}"
    assert len(refused) == runs - 1
    assert sorted(os.listdir(table)) == []  # released, and no lock or temporary file left
