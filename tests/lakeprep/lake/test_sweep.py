"""The sweeps of debris that killed runs leave: orphan models and exports without a manifest,
each removed only when no running job can be writing it."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from lakeprep.lake.lease import LEASE_FILE
from lakeprep.lake.sweep import sweep_exports, sweep_models


def _touch(path: Path, mtime: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")
    os.utime(path, (mtime, mtime))


def test_models_no_commit_names_and_older_than_the_last_commit_go(tmp_path):
    now = time.time()
    log = tmp_path / "features/customer_features/_delta_log/00000000000000000000.json"
    meta = {"features": {"pipeline_model": f"{tmp_path}/models/run-a"}}
    log.parent.mkdir(parents=True)
    log.write_text(json.dumps({"commitInfo": {"userMetadata": json.dumps(meta)}}) + "\n")
    os.utime(log, (now - 60, now - 60))
    _touch(tmp_path / "models/run-a/metadata/part-00000", now - 120)  # committed
    _touch(tmp_path / "models/run-b/metadata/part-00000", now - 90)   # killed before commit
    _touch(tmp_path / "models/run-c/metadata/part-00000", now)        # after the last commit
    args = (str(tmp_path / "models"), str(tmp_path / "features/customer_features"))

    assert sweep_models(*args, dry_run=True) == ["run-b"]
    assert (tmp_path / "models/run-b").exists()
    assert sweep_models(*args) == ["run-b"]
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["run-a", "run-c"]


def test_exports_without_manifest_go_unless_a_live_export_holds_them(tmp_path):
    now = time.time()
    live = {"run_id": "r", "host": os.uname().nodename, "pid": os.getpid(),
            "expires": "2999-01-01T00:00:00+00:00"}
    dead = {**live, "expires": "2000-01-01T00:00:00+00:00"}
    for name, lease, manifest in [("complete", None, True), ("writing", live, False),
                                  ("killed", dead, False), ("killed-done", dead, True),
                                  ("no-lease-old", None, False), ("no-lease-new", None, False)]:
        folder = tmp_path / "t" / name
        _touch(folder / "train/csv/part-0.csv", now - 3600 if name.endswith("old") else now)
        if lease:
            (folder / LEASE_FILE).write_text(json.dumps(lease))
        if manifest:
            (folder / "manifest.json").write_text("{}")

    dry = sweep_exports(str(tmp_path), depth=2, grace_s=600, dry_run=True)
    assert (dry.removed, dry.busy) == (["t/killed", "t/no-lease-old"], ["t/writing"])
    assert (tmp_path / "t/killed").exists()

    swept = sweep_exports(str(tmp_path), depth=2, grace_s=600)
    assert (swept.removed, swept.busy) == (["t/killed", "t/no-lease-old"], ["t/writing"])
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == [
        "complete", "killed-done", "no-lease-new", "writing"]
    # a complete export's stale lease is released, the export kept
    assert sorted(p.name for p in (tmp_path / "t/killed-done").iterdir()) == ["manifest.json",
                                                                              "train"]
