"""Kill ingest at each of its write and commit points (held there by files, never by time),
run it again, and the lake equals a clean run's: nothing lost, nothing doubled, no debris."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from deltalake import DeltaTable

from jobs import ingest
from jobs.cli import main
from lakeprep.config import load_settings
from lakeprep.runtime import JobContext

REPO = Path(__file__).resolve().parents[2]

CATALOG = """
tables:
  raw_orders:
    layer: raw
    source: {format: json, path: "orders/*.jsonl"}
    columns:
      - {name: order_id, type: string, nullable: false}
      - {name: amount, type: double}
      - {name: order_ts, type: timestamp, nullable: false}
  orders:
    layer: bronze
    upstream: raw_orders
    derive: {order_date: "to_date(order_ts)"}
    partition_by: [order_date]
    primary_key: [order_id]
"""
LINES = [json.dumps({"order_id": f"o{i % 40}", "amount": i * 1.5,
                     "order_ts": f"2026-01-{i % 5 + 1:02d}T10:00:00Z"}) for i in range(45)]
LINES += ['{"order_id": "bad", "amount": 1', '{"order_id": "x", "amount": "NaN", '
          '"order_ts": "2026-01-01T00:00:00Z"}']


def _lake(root: Path) -> Path:
    conf = root / "conf"
    (conf / "base").mkdir(parents=True)
    (conf / "local").mkdir()
    (conf / "base/catalog.yaml").write_text(CATALOG)
    (conf / "base/lakeprep.yaml").write_text(textwrap.dedent(f"""
        spark: {{master: "local[1]", conf: {{spark.ui.enabled: "false",
                                             spark.sql.shuffle.partitions: "1"}}}}
        lake:
          engine: deltalake
          layers: {{raw: {root}/raw, bronze: {root}/bronze}}
          system: {root}/system
        ingest: {{tables: [orders]}}
        """))
    (root / "raw/orders").mkdir(parents=True)
    (root / "raw/orders/o.jsonl").write_text("\n".join(LINES) + "\n")
    return conf


def _state(root: Path) -> dict[str, list[tuple]]:
    """What a reader sees, without what differs by run (run id, time, the lake's own path)."""
    def rows(path: str, drop: set[str]) -> list[tuple]:
        table = DeltaTable(str(root / path)).to_pyarrow_table().to_pylist()
        return sorted(tuple(sorted((k, str(v).rsplit("/", 1)[-1]) for k, v in r.items()
                                   if k not in drop)) for r in table)

    run_fields = {"_run_id", "_ingested_at", "ingested_at", "run_id", "table_version",
                  "modified_ms", "ingest_date"}
    return {"orders": rows("bronze/orders", run_fields),
            "quarantine": rows("bronze/orders_quarantine", run_fields),
            "log": rows("system/ingest_log", run_fields)}


def _debris(root: Path) -> list[str]:
    """Data files under a table that no commit of its log names."""
    out = []
    for table in ("bronze/orders", "bronze/orders_quarantine", "system/ingest_log"):
        base = root / table
        named = set()
        for commit in (base / "_delta_log").glob("*.json"):
            for line in commit.read_text().splitlines():
                action = json.loads(line)
                for kind in ("add", "remove"):
                    if kind in action:
                        named.add(action[kind]["path"])
        out += [str(f) for f in base.rglob("*.parquet")
                if str(f.relative_to(base)) not in named]
    return out


def _ingest(spark, conf: Path):
    ctx = JobContext.start(load_settings("local", conf, environ={}), "ingest", spark=spark)
    return ingest.run(ctx)


@pytest.fixture(scope="module")
def clean(spark, tmp_path_factory) -> dict[str, list[tuple]]:
    root = tmp_path_factory.mktemp("clean")
    _ingest(spark, _lake(root))
    return _state(root)


@pytest.mark.parametrize("point", ["ingest.leased", "lake.staged", "ingest.recording"])
def test_killed_at_a_point_then_rerun_equals_a_clean_run(spark, tmp_path, clean, point,
                                                         capsys):
    conf = _lake(tmp_path)
    pause = tmp_path / "pause"
    env = {**os.environ, "PYTHONPATH": str(REPO), "LAKEPREP_PAUSE_AT": point,
           "LAKEPREP_PAUSE_DIR": str(pause)}
    proc = subprocess.Popen([sys.executable, "-m", "jobs.cli", "run", "ingest", "--conf-dir",
                             str(conf)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    flag = pause / f"{point}.reached"
    while not flag.exists():  # wait on the process itself: it either reaches the point or fails
        try:
            proc.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"exited {proc.returncode} before {point}:\n{proc.communicate()[0]}")
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    (report,) = _ingest(spark, conf)
    assert report.reconciles
    assert _state(tmp_path) == clean
    assert _debris(tmp_path) == []
    assert not (tmp_path / "bronze/orders/_lakeprep_lease.json").exists()

    # the killed run's lineage START has no end: vacuum closes it with ABORT
    assert main(["vacuum", "--conf-dir", str(conf)]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "closed 1 dangling run" in printed, printed
    states: dict[str, list[str]] = {}
    for line in (tmp_path / "system/openlineage/events.jsonl").read_text().splitlines():
        event = json.loads(line)
        states.setdefault(event["run"]["runId"], []).append(event["eventType"])
    assert sorted(states.values()) == [["START", "ABORT"], ["START", "COMPLETE"]]
