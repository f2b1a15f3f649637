"""Kill build-features at its model save and its commit, and export at a channel write and its
commit (held there by files, never by time), run the job again, and the lake equals a clean
run's: the same table versions with the same rows, one loadable model per commit and no orphan,
one export with a complete manifest and the same channels, no folder without a manifest."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from deltalake import DeltaTable
from pyspark.ml import PipelineModel

from jobs import build_features, export_training
from jobs.cli import main
from lakeprep.config import load_settings
from lakeprep.runtime import JobContext

REPO = Path(__file__).resolve().parents[2]
CUTOFF = dt.date(2026, 5, 1)
T = dt.datetime
RUN_FIELDS = {"_run_id", "_ingested_at", "run_id"}


def _settings(root: Path):
    return load_settings("local", REPO / "conf", environ={"LAKEPREP_DATA": str(root)})


def _run(spark, root: Path, job: str):
    ctx = JobContext.start(_settings(root), job, spark=spark)
    if job == "build-features":
        return build_features.run(ctx, CUTOFF)
    return export_training.run(ctx)


@pytest.fixture(scope="module")
def bronze(spark, tmp_path_factory) -> Path:
    """Bronze customers, orders and web events, written straight through the lake API."""
    root = tmp_path_factory.mktemp("kill_bronze")
    ctx = JobContext.start(_settings(root), "fixture", spark=spark)
    customers = [(f"C{i:07d}", ["US", "GB", "DE"][i % 3], ["consumer", "enterprise"][i % 2],
                  1960 + i, T(2026, 1, 1) + dt.timedelta(days=i)) for i in range(40)]
    ctx.table("customers").append(spark.createDataFrame(
        customers, "customer_id string, country string, segment string, birth_year int, "
                   "signup_ts timestamp").selectExpr("*", "to_date(signup_ts) AS signup_date"),
        {})
    orders = [(f"O{i}-{k}", f"C{i:07d}", T(2026, 4, 1 + k * 7), 10.0 * (k + 1), "books")
              for i in range(40) for k in range(i % 4)]
    orders += [(f"O{i}-late", f"C{i:07d}", T(2026, 5, 10), 5.0, "toys") for i in range(0, 40, 3)]
    ctx.table("orders").append(spark.createDataFrame(
        orders, "order_id string, customer_id string, order_ts timestamp, amount double, "
                "category string").selectExpr("*", "to_date(order_ts) AS order_date"), {})
    ctx.table("web_events").append(spark.createDataFrame(
        [(f"E{i}", f"C{i:07d}", T(2026, 4, 20)) for i in range(0, 40, 2)],
        "event_id string, customer_id string, event_ts timestamp")
        .selectExpr("*", "to_date(event_ts) AS event_date"), {})
    return root


@pytest.fixture(scope="module")
def built(spark, bronze, tmp_path_factory) -> Path:
    """The clean run of build-features on a copy of ``bronze``."""
    root = tmp_path_factory.mktemp("kill_built") / "lake"
    shutil.copytree(bronze, root)
    _run(spark, root, "build-features")
    return root


@pytest.fixture(scope="module")
def exported(spark, built, tmp_path_factory) -> Path:
    """The clean run of export on a copy of ``built``."""
    root = tmp_path_factory.mktemp("kill_exported") / "lake"
    shutil.copytree(built, root)
    _run(spark, root, "export")
    return root


def _tables(root: Path) -> dict[str, list]:
    """Every version of every lake table, as rows without what differs by run."""
    out = {}
    for log in sorted([*root.glob("bronze/*/_delta_log"), *root.glob("features/*/_delta_log")]):
        table = DeltaTable(str(log.parent))
        name = str(log.parent.relative_to(root))
        for version in range(table.version() + 1):
            table.load_as_version(version)
            rows = table.to_pyarrow_table().to_pylist()
            out[f"{name}@{version}"] = sorted(
                json.dumps({k: v for k, v in r.items() if k not in RUN_FIELDS}, default=str,
                           sort_keys=True) for r in rows)
    return out


def _models(spark, root: Path) -> list[int]:
    """The saved models (each must load), by their number of stages; one per commit."""
    folders = sorted((root / "features/_models/customer_features").iterdir())
    table = DeltaTable(str(root / "features/customer_features"))
    named = [json.loads(c["userMetadata"])["features"]["pipeline_model"]
             for c in table.history() if "userMetadata" in c]
    assert sorted(str(f) for f in folders) == sorted(named)
    return [len(PipelineModel.load(str(f)).stages) for f in folders]


def _exports(root: Path) -> dict[str, object]:
    """The one export folder: its manifest (without run-specific values) and its channels'
    contents (lines of text formats, bytes of binary ones, independent of file names)."""
    folders = sorted((root / "exports/customer_features").iterdir())
    assert len(folders) == 1, folders  # the killed run's incomplete folder is gone
    manifest = json.loads((folders[0] / "manifest.json").read_text())
    channels: dict[str, list[str]] = {}
    for f in sorted(folders[0].rglob("*")):
        rel = f.relative_to(folders[0]).parts
        if f.is_file() and len(rel) > 2 and not f.name.startswith((".", "_")):
            data = f.read_bytes()
            channels.setdefault("/".join(rel[:2]), []).extend(
                sorted(data.decode().splitlines()) if rel[1] in ("csv", "libsvm")
                else [hashlib.sha256(data).hexdigest()])
    for value in channels.values():
        value.sort()
    kept = {k: v for k, v in manifest.items() if k not in ("run_id", "created_at", "channels",
                                                           "pipeline_model_path",
                                                           "source_tables", "config_hash")}
    counts = {ch: {fmt: files["rows"] for fmt, files in fmts.items()}
              for ch, fmts in manifest["channels"].items()}
    return {"manifest": kept, "rows": counts, "channels": channels}


def _killed(root: Path, job: str, point: str) -> None:
    """Run ``job`` in its own process on the lake at ``root`` and SIGKILL it at ``point``."""
    pause = root.parent / "pause"
    env = {**os.environ, "PYTHONPATH": str(REPO), "LAKEPREP_DATA": str(root),
           "LAKEPREP_PAUSE_AT": point, "LAKEPREP_PAUSE_DIR": str(pause)}
    env.pop("LAKEPREP_CONF_DIR", None)
    args = ["--cutoff", CUTOFF.isoformat()] if job == "build-features" else []
    proc = subprocess.Popen([sys.executable, "-m", "jobs.cli", "run", job, "--env", "local",
                             "--conf-dir", str(REPO / "conf"), *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    flag = pause / f"{point}.reached"
    while not flag.exists():  # wait on the process itself: it either reaches the point or fails
        try:
            proc.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"exited {proc.returncode} before {point}:\n{proc.communicate()[0]}")
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_build_features_killed_at_model_save_and_commit_then_rerun_equals_a_clean_run(
        spark, bronze, built, tmp_path):
    root = tmp_path / "lake"
    shutil.copytree(bronze, root)
    models = root / "features/_models/customer_features"
    _killed(root, "build-features", "features.model_saved")
    assert len(list(models.iterdir())) == 1  # saved, named by no commit
    _killed(root, "build-features", "lake.staged")  # its files staged, not committed
    killed = list(models.iterdir())
    assert len(killed) == 2

    _run(spark, root, "build-features")

    assert _tables(root) == _tables(built)
    assert _models(spark, root) == _models(spark, built)
    assert not any(k.exists() for k in killed)
    assert not (root / "features/customer_features/_lakeprep_lease.json").exists()


def test_export_killed_at_a_channel_write_and_commit_then_rerun_equals_a_clean_run(
        spark, built, exported, tmp_path, capsys):
    root = tmp_path / "lake"
    shutil.copytree(built, root)
    _killed(root, "export", "export.channel_written")  # one channel written
    _killed(root, "export", "export.committing")  # every channel, no manifest
    killed = sorted((root / "exports/customer_features").iterdir())
    assert len(killed) == 2 and not any((k / "manifest.json").exists() for k in killed)

    # vacuum --dry-run names the incomplete exports and removes nothing
    conf = ["--env", "local", "--conf-dir", str(REPO / "conf")]
    os.environ["LAKEPREP_DATA"] = str(root)
    try:
        assert main(["vacuum", "--dry-run", *conf]) == 0
    finally:
        del os.environ["LAKEPREP_DATA"]
    printed = " ".join(capsys.readouterr().out.split())
    assert all(f"would remove customer_features/{k.name}" in printed for k in killed), printed
    assert ("would remove 0 uncommitted data files, 0 orphan models, 2 incomplete exports, "
            "would close 2 dangling runs" in printed), printed
    assert all(k.exists() for k in killed)

    _run(spark, root, "export")  # and its sweep removes the killed runs' folders

    assert not any(k.exists() for k in killed)
    assert _exports(root) == _exports(exported)
    assert _tables(root) == _tables(exported)
