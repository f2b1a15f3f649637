"""Two real ingest processes at once: the same table is written once, the shared ingest log
never doubles. The processes are held at named points (files appear), never timed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from deltalake import DeltaTable

REPO = Path(__file__).resolve().parents[2]

CATALOG = """
tables:
  raw_orders:
    layer: raw
    source: {format: json, path: "orders/*.jsonl"}
    columns:
      - {name: order_id, type: string, nullable: false}
      - {name: order_ts, type: timestamp, nullable: false}
  orders:
    layer: bronze
    upstream: raw_orders
    derive: {order_date: "to_date(order_ts)"}
    partition_by: [order_date]
    primary_key: [order_id]
  raw_people:
    layer: raw
    source: {format: csv, path: "people/*.csv"}
    columns:
      - {name: id, type: string, nullable: false}
  people:
    layer: bronze
    upstream: raw_people
    primary_key: [id]
"""


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
        """))
    (root / "raw/orders").mkdir(parents=True)
    (root / "raw/orders/o.jsonl").write_text("".join(
        json.dumps({"order_id": f"o{i}", "order_ts": f"2026-01-{i % 28 + 1:02d}T10:00:00Z"})
        + "\n" for i in range(50)))
    (root / "raw/people").mkdir(parents=True)
    (root / "raw/people/p.csv").write_text("id\n" + "".join(f"p{i}\n" for i in range(20)))
    return conf


def _ingest(conf: Path, table: str, pause_at: str | None = None,
            pause_dir: Path | None = None) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("LAKEPREP_PAUSE_AT", None)
    if pause_at:
        env.update(LAKEPREP_PAUSE_AT=pause_at, LAKEPREP_PAUSE_DIR=str(pause_dir))
    return subprocess.Popen(
        [sys.executable, "-m", "jobs.cli", "run", "ingest", "--conf-dir", str(conf),
         "--table", table], cwd=REPO, env=env, text=True, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)


def _reach(flag: Path, proc: subprocess.Popen[str]) -> None:
    """Wait until ``proc`` creates ``flag`` (waiting on the process itself, not on a clock)."""
    while not flag.exists():
        try:
            proc.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            continue
        out, err = proc.communicate()
        raise AssertionError(f"exited {proc.returncode} before {flag.name}:\n{out}\n{err}")


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = proc.communicate(timeout=600)
    return proc.returncode, out + err


def test_a_second_run_of_the_same_table_stops_cleanly(tmp_path):
    conf = _lake(tmp_path)
    pause = tmp_path / "pause"
    first = _ingest(conf, "orders", "ingest.leased", pause)
    _reach(pause / "ingest.leased.reached", first)
    code, text = _finish(_ingest(conf, "orders"))  # while the first holds the table
    assert code == 4, text
    assert "is writing this table; run again when it has finished" in " ".join(text.split())
    assert "Traceback" not in text
    (pause / "ingest.leased.resume").touch()
    code, text = _finish(first)
    assert code == 0, text
    rows = DeltaTable(str(tmp_path / "bronze/orders")).to_pyarrow_table()
    assert rows.num_rows == 50 == len(set(rows.column("order_id").to_pylist()))
    assert not (tmp_path / "bronze/orders/_lakeprep_lease.json").exists()
    code, text = _finish(_ingest(conf, "orders"))  # and the next run has nothing to do
    assert code == 0 and "no new files" in text, text


def test_runs_of_different_tables_share_the_ingest_log_without_duplicates(tmp_path):
    conf = _lake(tmp_path)
    procs = {t: _ingest(conf, t, "ingest.recording", tmp_path / t) for t in ("orders", "people")}
    for t, proc in procs.items():  # both committed their table, both about to record files
        _reach(tmp_path / t / "ingest.recording.reached", proc)
    for t in procs:
        (tmp_path / t / "ingest.recording.resume").touch()
    for proc in procs.values():
        code, text = _finish(proc)
        assert code == 0, text
    log = DeltaTable(str(tmp_path / "system/ingest_log")).to_pyarrow_table().to_pylist()
    assert sorted((r["table"], r["path"].rsplit("/", 1)[-1]) for r in log) == [
        ("orders", "o.jsonl"), ("people", "p.csv")]
