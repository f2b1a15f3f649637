"""OpenLineage events (file and HTTP transports) and the lineage tree of a small table chain."""

from __future__ import annotations

import http.server
import io
import json
import logging
import socket
import textwrap
import threading
from pathlib import Path

import pytest
from deltalake import write_deltalake
from openlineage.client.event_v2 import RunEvent, RunState
from openlineage.client.serde import Serde
from openlineage.client.transport.file import FileTransport
from openlineage.client.transport.http import HttpTransport
from pyspark.sql import types as T
from rich.console import Console

from lakeprep.config import load_settings
from lakeprep.errors import ConfigError, InputError, LakeTableError
from lakeprep.lineage import (
    DatasetRef,
    LineageEmitter,
    dataset_id,
    files_ref,
    lineage_graph,
    lineage_tree,
    read_events,
    run_uuid,
)
from lakeprep.lineage.transport import ObjectStoreTransport
from lakeprep.runtime import JobContext

CATALOG = """
tables:
  raw_a:
    layer: raw
    source: {format: csv, path: "a/batch_*/*.csv"}
    columns:
      - {name: id, type: string, nullable: false}
      - {name: amount, type: double}
  a:
    layer: bronze
    upstream: raw_a
  b:
    layer: features
"""
GATE = {"suite": "a_suite", "policy": "fail", "verdict": "pass",
        "statistics": {"evaluated_expectations": 2, "successful_expectations": 1},
        "assertions": [{"assertion": "expect_column_values_to_not_be_null", "success": True,
                        "column": "id"},
                       {"assertion": "expect_table_row_count_to_be_between", "success": False,
                        "column": None}]}


def make_conf(root: Path, lineage: str = "") -> Path:
    conf = root / "conf"
    (conf / "base").mkdir(parents=True, exist_ok=True)
    (conf / "local").mkdir(exist_ok=True)
    (conf / "base/catalog.yaml").write_text(CATALOG)
    (conf / "base/lakeprep.yaml").write_text(textwrap.dedent(f"""
        lake:
          engine: deltalake
          layers: {{raw: {root}/raw, bronze: {root}/bronze, features: {root}/features}}
          system: {root}/system
        """))
    (conf / "base/lineage.yaml").write_text(
        (Path(__file__).resolve().parents[2] / "conf/base/lineage.yaml").read_text())
    if lineage:
        (conf / "local/lineage.yaml").write_text(textwrap.dedent(lineage))
    return conf


def context(spark, root: Path, lineage: str = "", job: str = "ingest") -> JobContext:
    settings = load_settings("local", make_conf(root, lineage), environ={})
    return JobContext.start(settings, job, spark=spark)


def raw_files(root: Path, batch: str, n: int) -> list[dict]:
    return [{"path": f"file:{root}/raw/a/{batch}/part-{i:02d}.csv", "size": 100 + i,
             "modified_ms": 1767225600000 + i} for i in range(n)]


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_conf_defaults_to_a_json_lines_file_under_the_system_folder(spark, tmp_path):
    ctx = context(spark, tmp_path)
    conf = ctx.settings.lineage
    assert (conf.enabled, conf.namespace, conf.transport.type) == (True, "lakeprep", "file")
    emitter = LineageEmitter.from_settings(ctx.settings)
    assert isinstance(emitter.transport, FileTransport)
    assert emitter.transport.config.log_file_path == f"{tmp_path}/system/openlineage/events.jsonl"
    assert emitter.transport.config.append


@pytest.mark.parametrize("body, message", [
    ("lineage: {transport: {type: http}}\n",
     r"local/lineage.yaml: lineage.transport.url: required key is missing"),
    ("lineage: {transport: {type: kafka}}\n",
     r"local/lineage.yaml: lineage.transport: Input tag 'kafka' .* 'file', 'http'"),
    ("lineage: {transport: {type: http, url: 'localhost:5000'}}\n",
     r"local/lineage.yaml: lineage.transport.url: expected an http\(s\):// URL, found "
     r"'localhost:5000'"),
    ("lineage: {namespaces: x}\n", r"local/lineage.yaml: lineage.namespaces: unknown key"),
    ("lineage: {transport: {type: http, url: 'http://h', timeout: 0}}\n",
     r"local/lineage.yaml: lineage.transport.timeout: Input should be greater than 0"),
])
def test_conf_errors_name_the_file_and_the_key_when_the_settings_load(tmp_path, body, message):
    with pytest.raises(ConfigError, match=message):
        load_settings("local", make_conf(tmp_path, body), environ={})


def test_successful_run_sends_start_then_complete_with_datasets_and_facets(spark, tmp_path):
    ctx = context(spark, tmp_path)
    files = raw_files(tmp_path, "batch_1", 2)
    df = spark.createDataFrame([("x", 1.5), ("y", 2.0)], "id string, amount double")
    with ctx.recording():  # what every job run does: its commits are recorded as made
        meta = ctx.commit_metadata(table="a", inputs=[
            {"table": "raw_a", "kind": "files", "files": files}], gate=GATE,
            counts={"read": 2, "inserted": 2})
        version = ctx.table("a").append(df, metadata=meta).version
    assert version == 0

    path = tmp_path / "system/openlineage/events.jsonl"
    raw = lines(path)
    events = read_events(path)
    assert [e.eventType for e in events] == [RunState.START, RunState.COMPLETE]
    assert all(isinstance(e, RunEvent) for e in events)
    assert [Serde.to_dict(e) for e in events] == raw  # parsed models give back the same JSON
    start, done = events
    assert start.run.runId == done.run.runId == str(run_uuid(ctx.run_info))
    assert done.run.facets["lakeprep_run"].runId == ctx.run_id
    assert done.run.facets["processing_engine"].version == spark.version
    assert done.job.namespace == "lakeprep" and done.job.name == "ingest"
    assert done.job.facets["lakeprep_config"].configHash == ctx.settings.conf_hash
    assert done.job.facets["lakeprep_code"].package == ctx.commit_metadata()["code_version"][
        "package"]
    assert start.inputs == [] and start.outputs == []

    (out,) = done.outputs
    assert (out.namespace, out.name) == ("file", f"{tmp_path}/bronze/a")
    assert out.facets["version"].datasetVersion == "0"
    assert [(f.name, f.type, f.ordinal_position) for f in out.facets["schema"].fields] == [
        ("id", "string", 1), ("amount", "double", 2)]
    assert out.facets["storage"].storageLayer == "delta"
    assert [(i.namespace, i.name) for i in out.facets["symlinks"].identifiers] == [
        ("lakeprep", "a")]
    assert [(a.assertion, a.success, a.column) for a in
            out.facets["dataQualityAssertions"].assertions] == [
        ("expect_column_values_to_not_be_null", True, "id"),
        ("expect_table_row_count_to_be_between", False, None)]

    (inp,) = done.inputs
    assert (inp.namespace, inp.name) == ("file", f"{tmp_path}/raw/a")  # the source folder
    assert (inp.facets["storage"].storageLayer, inp.facets["storage"].fileFormat) == (
        "files", "csv")
    assert inp.facets["symlinks"].identifiers[0].name == "raw_a"
    assert inp.facets["version"].datasetVersion.startswith("files:")
    assert (inp.facets["lakeprep_files"].count, inp.facets["lakeprep_files"].bytes) == (2, 201)
    assert [f.name for f in inp.facets["schema"].fields] == ["id", "amount"]


def test_failing_run_sends_start_then_fail_with_the_message(spark, tmp_path):
    ctx = context(spark, tmp_path, job="build_features")
    emitter = LineageEmitter.from_settings(ctx.settings)
    with pytest.raises(InputError, match="no input files"):
        with emitter.run(ctx.run_info, ctx):
            raise InputError("table a: no input files match /raw/a/*.csv")
    start, fail = read_events(tmp_path / "system/openlineage/events.jsonl")
    assert (start.eventType, fail.eventType) == (RunState.START, RunState.FAIL)
    assert fail.job.name == "build_features" and fail.run.runId == start.run.runId
    error = fail.run.facets["errorMessage"]
    assert error.message == "InputError: table a: no input files match /raw/a/*.csv"
    assert error.programmingLanguage == "PYTHON" and "raise InputError" in error.stackTrace


def test_vacuum_closes_the_runs_left_open_by_a_dead_process_not_a_live_one(spark, tmp_path):
    import os

    import attr

    from lakeprep.lineage.dangling import close_dangling_runs
    live = context(spark, tmp_path)
    emitter = LineageEmitter.from_settings(live.settings)
    assert emitter.start(live.run_info)  # this process: still running
    killed = context(spark, tmp_path, job="build_features")
    event = emitter.event(killed.run_info, RunState.START)
    facet = event.run.facets["lakeprep_run"]
    assert (facet.host, facet.pid) == (socket.gethostname(), os.getpid())
    event.run.facets["lakeprep_run"] = attr.evolve(facet, pid=_ended_pid())
    emitter.transport.emit(event)

    assert close_dangling_runs(live.settings, dry_run=True) == 1
    assert close_dangling_runs(live.settings) == 1
    events = read_events(tmp_path / "system/openlineage/events.jsonl")
    assert [(e.job.name, e.eventType) for e in events] == [
        ("ingest", RunState.START), ("build_features", RunState.START),
        ("build_features", RunState.ABORT)]
    assert events[2].run.runId == str(run_uuid(killed.run_info))
    assert close_dangling_runs(live.settings) == 0  # closed once


def _ended_pid() -> int:
    """The pid of a process that has ended (as a killed run's)."""
    import subprocess
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_schema_facet_keeps_nested_struct_fields(spark, tmp_path):
    ctx = context(spark, tmp_path)
    schema = T.StructType([
        T.StructField("id", T.LongType()),
        T.StructField("geo", T.StructType([T.StructField("lat", T.DoubleType()),
                                           T.StructField("lon", T.DoubleType())])),
        T.StructField("tags", T.ArrayType(T.StringType()))])
    ref = DatasetRef("b", "s3a://bucket/lake/features/b/", 4, schema)
    event = LineageEmitter(None).event(ctx.run_info, RunState.COMPLETE, outputs=[ref])
    out = Serde.to_dict(event)["outputs"][0]
    assert (out["namespace"], out["name"]) == ("s3://bucket", "lake/features/b")
    fields = out["facets"]["schema"]["fields"]
    assert [(f["name"], f["type"]) for f in fields] == [
        ("id", "bigint"), ("geo", "struct"), ("tags", "array<string>")]
    assert [(f["name"], f["type"]) for f in fields[1]["fields"]] == [
        ("lat", "double"), ("lon", "double")]
    assert dataset_id("file:///tmp/x") == ("file", "/tmp/x")


class _Collector(http.server.BaseHTTPRequestHandler):
    received: list[tuple[str, dict, dict]] = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, dict(self.headers), json.loads(body)))
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_http_transport_posts_each_event_with_the_api_key(spark, tmp_path, monkeypatch):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Collector)
    server.timeout = 10  # each handle_request gives up by itself: the thread always ends
    _Collector.received = []
    thread = threading.Thread(target=lambda: [server.handle_request() for _ in range(2)],
                              daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("TEST_OL_KEY", "s3cret")
        ctx = context(spark, tmp_path, f"""
            lineage:
              namespace: retail
              transport: {{type: http, url: "http://127.0.0.1:{server.server_port}",
                           api_key_env: TEST_OL_KEY, timeout: 5, retries: 0}}
            """)
        emitter = LineageEmitter.from_settings(ctx.settings)
        assert isinstance(emitter.transport, HttpTransport)
        assert emitter.start(ctx.run_info)
        assert emitter.complete(ctx.run_info,
                                outputs=[DatasetRef("b", f"{tmp_path}/features/b", 0)])
        thread.join(timeout=15)
    finally:
        server.server_close()
    assert not thread.is_alive()
    (p1, h1, e1), (p2, _, e2) = _Collector.received
    assert p1 == p2 == "/api/v1/lineage"
    assert h1["Authorization"] == "Bearer s3cret"
    assert (e1["eventType"], e2["eventType"]) == ("START", "COMPLETE")
    assert e1["job"] == {"namespace": "retail", "name": "ingest", "facets": e1["job"]["facets"]}
    assert e2["outputs"][0]["facets"]["symlinks"]["identifiers"][0] == {
        "namespace": "retail", "name": "b", "type": "TABLE"}
    assert not (tmp_path / "system/openlineage").exists()


def test_a_failing_transport_is_logged_not_raised(spark, tmp_path, caplog):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = context(spark, tmp_path, f"""
        lineage:
          transport: {{type: http, url: "http://127.0.0.1:{port}", timeout: 2, retries: 0}}
        """)
    emitter = LineageEmitter.from_settings(ctx.settings)
    ran = []
    with caplog.at_level(logging.WARNING, logger="lakeprep.lineage"):
        with emitter.run(ctx.run_info, ctx):
            ran.append(True)
    assert ran == [True]
    warnings = [r.getMessage() for r in caplog.records
                if r.name.startswith("lakeprep.lineage")]
    assert len(warnings) == 2
    assert warnings[0].startswith(f"lineage: could not send the START event of run "
                                  f"{ctx.run_id} (http transport)")
    assert "COMPLETE" in warnings[1]


def test_an_unwritable_event_file_is_logged_not_raised(spark, tmp_path, caplog):
    (tmp_path / "blocker").write_text("a file, not a folder")
    with caplog.at_level(logging.WARNING, logger="lakeprep.lineage"):
        ctx = context(spark, tmp_path, f"""
            lineage: {{transport: {{type: file, path: "{tmp_path}/blocker/x/events.jsonl"}}}}
            """)
        emitter = LineageEmitter.from_settings(ctx.settings)
        assert not emitter.start(ctx.run_info)
    assert f"cannot create the folder of {tmp_path}/blocker/x/events.jsonl" in caplog.text
    assert f"could not send the START event of run {ctx.run_id} (file transport)" in caplog.text


def test_object_store_transport_writes_one_file_per_event(spark, tmp_path):
    ctx = context(spark, tmp_path)
    emitter = LineageEmitter(ObjectStoreTransport(f"file://{tmp_path}/events/"))
    with emitter.run(ctx.run_info, ctx):
        pass
    names = sorted(p.name for p in (tmp_path / "events").glob("*.json"))  # not .crc files
    assert len(names) == 2 and names[0].endswith("-START.json")
    assert names[1].endswith(f"-{run_uuid(ctx.run_info)}-COMPLETE.json")
    events = read_events(tmp_path / "events")
    assert [e.eventType for e in events] == [RunState.START, RunState.COMPLETE]


def test_disabled_lineage_sends_nothing(spark, tmp_path):
    ctx = context(spark, tmp_path, "lineage: {enabled: false}\n")
    emitter = LineageEmitter.from_settings(ctx.settings)
    assert emitter.transport is None and not emitter.start(ctx.run_info)
    assert not (tmp_path / "system/openlineage").exists()


@pytest.fixture
def chain(spark, tmp_path):
    """raw files -> a v0 -> b v0 (reads a v0 and a foreign table), then a v1 appended later."""
    ctx = context(spark, tmp_path, job="ingest")
    a, b = ctx.table("a"), ctx.table("b")
    rows = spark.createDataFrame([("x", 1.0)], "id string, amount double")
    a.append(rows, metadata=ctx.commit_metadata(
        table="a", inputs=[{"table": "raw_a", "kind": "files",
                            "files": raw_files(tmp_path, "batch_1", 12)}],
        counts={"read": 12, "inserted": 12}))
    ext = str(tmp_path / "elsewhere/ext")
    import pyarrow as pa
    write_deltalake(ext, pa.table({"k": [1, 2]}))  # another writer: no lakeprep metadata
    feat = context(spark, tmp_path, job="build_features")
    b.append(rows, metadata=feat.commit_metadata(table="b", gate=GATE, inputs=[
        {"table": "a", "kind": "table", "version": 0, "location": a.location},
        {"table": "ext", "kind": "table", "version": 0, "location": ext},
        {"table": "a", "kind": "table", "version": 7, "location": a.location}]))
    later = context(spark, tmp_path, job="ingest")
    a.append(rows, metadata=later.commit_metadata(
        table="a", inputs=[{"table": "raw_a", "kind": "files",
                            "files": [{"path": f"file:{tmp_path}/raw/a/batch_2/late.csv",
                                       "size": 5, "modified_ms": 1}]}]))
    return ctx, feat, later


def test_lineage_follows_recorded_versions_down_to_raw_files(chain, tmp_path):
    ctx, feat, _ = chain
    g = lineage_graph(ctx, "b", 0)
    assert (g["table"], g["version"], g["status"], g["job"], g["run_id"], g["gate"]) == (
        "b", 0, "lakeprep", "build_features", feat.run_id, "pass")
    a0, ext, a7 = g["inputs"]
    assert (a0["table"], a0["version"], a0["status"], a0["job"]) == ("a", 0, "lakeprep", "ingest")
    assert a0["counts"] == {"read": 12, "inserted": 12}
    (files,) = a0["inputs"]
    assert (files["kind"], files["table"], files["file_count"], files["more_files"]) == (
        "files", "raw_a", 12, 2)
    assert len(files["files"]) == 10 and files["bytes"] == sum(100 + i for i in range(12))
    assert all("batch_1" in f["path"] for f in files["files"])
    assert (ext["status"], ext["version"], ext["operation"]) == ("foreign", 0, "WRITE")
    assert (a7["status"], a7["version"]) == ("missing", 7)

    out = io.StringIO()
    Console(file=out, width=250, color_system=None).print(lineage_tree(ctx, "b", 0))
    text = out.getvalue()
    assert "a v0 · ingest · run " + ctx.run_id in text
    assert "a v1" not in text and "late.csv" not in text
    assert "raw_a raw files: 12 file(s), 1.2 KB" in text and "+2 more files" in text
    assert "part-09.csv (109 B)" in text and "part-10.csv" not in text
    assert "ext v0" in text and "no lakeprep metadata" in text
    assert "gate pass" in text and "inserted=12 read=12" in text  # keys sorted in the log


def test_lineage_of_the_latest_version_and_of_missing_versions(chain, tmp_path):
    ctx, _, later = chain
    g = lineage_graph(ctx, "a")
    assert (g["version"], g["run_id"]) == (1, later.run_id)
    assert [f["path"] for f in g["inputs"][0]["files"]] == [
        f"file:{tmp_path}/raw/a/batch_2/late.csv"]
    with pytest.raises(LakeTableError, match=r"no version 9 in its history; versions 0\.\.1"):
        lineage_graph(ctx, "a", 9)


def test_files_ref_names_the_source_folder_not_the_batch(spark, tmp_path):
    ctx = context(spark, tmp_path)
    one = files_ref(ctx, "raw_a", raw_files(tmp_path, "batch_1", 1))
    two = files_ref(ctx, "raw_a", raw_files(tmp_path, "batch_2", 3))
    assert one.location == two.location == f"{tmp_path}/raw/a"
    assert one.version != two.version and one.file_format == "csv"
