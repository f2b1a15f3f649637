"""The PII salt and AWS keys never leave the process in clear: not in a Spark plan (Spark's
event log keeps them all), an error message, a lineage event, a log or a lake file."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from deltalake import DeltaTable

REPO = Path(__file__).resolve().parents[2]
SALT = "s4lt-9c1f3e7d-never-print-me"
AWS_KEY, AWS_SECRET = "AKIAFAKEKEY7TESTONLY", "fake/secret+Key0123456789abcdefNEVERSHOWN"

CATALOG = """
tables:
  raw_people:
    layer: raw
    source: {format: csv, path: "people/*.csv"}
    columns:
      - {name: id, type: string, nullable: false}
      - {name: email, type: string, pii: hash}
  people:
    layer: bronze
    upstream: raw_people
    primary_key: [id]
  people_bad:
    layer: bronze
    upstream: raw_people
    derive: {domain: "no_such_function(email)"}
    primary_key: [id]
"""


def _run(conf: Path, table: str) -> tuple[int, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "LAKEPREP_PII_SALT": SALT,
           "AWS_ACCESS_KEY_ID": AWS_KEY, "AWS_SECRET_ACCESS_KEY": AWS_SECRET}
    p = subprocess.run([sys.executable, "-m", "jobs.cli", "run", "ingest", "--conf-dir",
                        str(conf), "--table", table], cwd=REPO, env=env, text=True,
                       capture_output=True, timeout=600)
    return p.returncode, p.stdout + p.stderr


def test_salt_and_keys_appear_in_no_output_log_or_file(tmp_path):
    events = tmp_path / "spark-events"
    events.mkdir()
    conf = tmp_path / "conf"
    (conf / "base").mkdir(parents=True)
    (conf / "local").mkdir()
    (conf / "base/catalog.yaml").write_text(CATALOG)
    (conf / "base/lakeprep.yaml").write_text(textwrap.dedent(f"""
        spark:
          master: "local[1]"
          conf: {{spark.eventLog.enabled: "true", spark.eventLog.dir: "file://{events}",
                  spark.ui.enabled: "false", spark.sql.shuffle.partitions: "1"}}
        lake:
          engine: deltalake
          layers: {{raw: {tmp_path}/raw, bronze: {tmp_path}/bronze}}
          system: {tmp_path}/system
        """))
    (tmp_path / "raw/people").mkdir(parents=True)
    (tmp_path / "raw/people/p.csv").write_text("id,email\np1,ann@example.com\np2,\n")

    code, good = _run(conf, "people")
    assert code == 0, good
    code, bad = _run(conf, "people_bad")  # the error names the expression, not the salt
    assert code == 2 and "tables.people_bad.derive.domain" in bad, bad

    rows = {r["id"]: r["email"] for r in
            DeltaTable(str(tmp_path / "bronze/people")).to_pyarrow_table().to_pylist()}
    # the hashed values keep their definition: sha256(salt || value), null stays null
    assert rows == {"p1": hashlib.sha256((SALT + "ann@example.com").encode()).hexdigest(),
                    "p2": None}
    files = [f for f in tmp_path.rglob("*") if f.is_file()]
    assert any(f.parent == events for f in files)  # the event log was written
    assert any(f.name == "events.jsonl" for f in files)  # and the lineage events
    for secret in (SALT, AWS_KEY, AWS_SECRET):
        assert secret not in good + bad
        leaks = [str(f) for f in files if secret.encode() in f.read_bytes()]
        assert leaks == [], (secret, leaks)
