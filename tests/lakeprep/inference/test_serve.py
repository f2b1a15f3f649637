"""``lakeprep serve`` as a real process on 127.0.0.1: SageMaker's container contract with CSV,
JSON lines and SparkML-serving JSON, one record and batches, good and bad; answers equal the
in-process runtime's, a bad record is a 400 naming it and its column, never a traceback."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from lakeprep.inference import load
from tests.lakeprep.inference.differential import fit_and_save
from tests.lakeprep.inference.test_differential_sets import TAXI, pipeline_spec, taxi_rows

CSV_ROWS = ["2019-01-03 10:15:00,3,101,2.5,11.0,1", "2019-02-11 23:59:59,unseen,,,7.5,"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def taxi_model(spark, tmp_path_factory) -> str:
    train = spark.createDataFrame(taxi_rows(200), TAXI)
    return fit_and_save(pipeline_spec("taxi_tips"), train, tmp_path_factory.mktemp("m") / "taxi")


@pytest.fixture(scope="module")
def server(taxi_model) -> Iterator[str]:
    port = _free_port()
    lakeprep = Path(sys.executable).with_name("lakeprep")
    proc = subprocess.Popen([str(lakeprep), "serve", taxi_model, "--host", "127.0.0.1",
                             "--port", str(port), "--workers", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:  # wait for /ping, bounded
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"the server did not start: {proc.communicate()[0][-2000:]}")
            time.sleep(0.2)
    yield url
    proc.terminate()
    log = proc.communicate(timeout=30)[0]
    assert "Traceback" not in log, log[-3000:]


def post(url: str, body: str, content_type: str, accept: str | None = None
         ) -> tuple[int, str, dict[str, str]]:
    headers = {"Content-Type": content_type, **({"Accept": accept} if accept else {})}
    req = urllib.request.Request(f"{url}/invocations", body.encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode(), {k.lower(): v for k, v in r.headers.items()}
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), {k.lower(): v for k, v in e.headers.items()}


def expected_rows(model: str, records: list[dict]) -> list[np.ndarray]:
    out = load(model).transform(records)["features"]
    return [v.toArray() if hasattr(v, "toArray") else v for v in out]


def records_of_csv() -> list[dict]:
    from lakeprep.inference.formats import parse_csv

    return parse_csv("\n".join(CSV_ROWS), load_schema())


def load_schema() -> dict[str, str]:
    return {f.name: {"timestamp": "timestamp", "string": "string", "double": "double",
                     "bigint": "long"}[f.dataType.simpleString()] for f in TAXI.fields}


def test_ping(server):
    with urllib.request.urlopen(f"{server}/ping") as r:
        assert r.status == 200


def test_csv_one_record_and_batch_answer_the_runtimes_vectors(server, taxi_model):
    want = expected_rows(taxi_model, records_of_csv())
    status, text, headers = post(server, CSV_ROWS[0] + "\n", "text/csv", "text/csv")
    assert status == 200 and headers["content-type"].startswith("text/csv")
    assert np.array_equal(np.array([float(x) for x in text.strip().split(",")]), want[0])
    status, text, _ = post(server, "\n".join(CSV_ROWS) + "\n", "text/csv")
    lines = text.strip().split("\n")
    assert status == 200 and len(lines) == 2
    for line, row in zip(lines, want, strict=True):
        np.testing.assert_array_equal(np.array([float(x) for x in line.split(",")]), row)


def test_jsonlines_in_and_out(server, taxi_model):
    records = [{"pickup_datetime": "2019-01-03 10:15:00", "pickup_location_id": "3",
                "dropoff_location_id": "101", "trip_distance": 2.5, "fare_amount": 11.0,
                "passenger_count": 1},
               {"pickup_datetime": "2019-02-11 23:59:59", "pickup_location_id": "unseen",
                "dropoff_location_id": None, "trip_distance": None, "fare_amount": 7.5,
                "passenger_count": None}]
    body = "\n".join(json.dumps(r) for r in records)
    status, text, headers = post(server, body, "application/jsonlines", "application/jsonlines")
    assert status == 200 and headers["content-type"].startswith("application/jsonlines")
    got = [json.loads(line)["features"] for line in text.strip().split("\n")]
    for cell, row in zip(got, expected_rows(taxi_model, records_of_csv()), strict=True):
        dense = np.zeros(cell["size"]) if isinstance(cell, dict) else np.array(cell, float)
        if isinstance(cell, dict):
            dense[cell["indices"]] = cell["values"]
        np.testing.assert_array_equal(dense, row)


def test_sparkml_serving_json_with_schema_in_the_request(server, taxi_model):
    schema = {"input": [{"name": f.name, "type": t} for f, t in zip(
        TAXI.fields, ["timestamp", "string", "string", "double", "double", "long"],
        strict=True)], "output": {"name": "features", "type": "double", "struct": "vector"}}
    body = json.dumps({"schema": schema, "data": ["2019-01-03 10:15:00", "3", "101", 2.5, 11.0,
                                                  1]})
    status, text, _ = post(server, body, "application/json", "text/csv")
    assert status == 200
    np.testing.assert_array_equal(np.array([float(x) for x in text.strip().split(",")]),
                                  expected_rows(taxi_model, records_of_csv())[0])


@pytest.mark.parametrize(("body", "content_type", "record", "column"), [
    (CSV_ROWS[0] + "\n2019-01-03 10:15:00,3,101,abc,11.0,1\n", "text/csv", "1", "trip_distance"),
    ("2019-01-03 10:15:00,3,101,2.5\n", "text/csv", "0", "fare_amount"),
    ('{"pickup_datetime": "2019-01-03 10:15:00", "pickup_location_id": "3", '
     '"trip_distance": 1.0, "fare_amount": 2.0, "passenger_count": 1}\n',
     "application/jsonlines", None, "dropoff_location_id"),
    ('{"pickup_datetime": "2019-01-03 10:15:00", "pickup_location_id": "3", '
     '"dropoff_location_id": "1", "trip_distance": 1.0, "fare_amount": 2.0, '
     '"passenger_count": "two"}\n', "application/jsonlines", "0", "passenger_count"),
    ("not json\n", "application/jsonlines", "0", None),
])
def test_bad_records_are_400_naming_record_and_column(server, body, content_type, record,
                                                      column):
    status, text, headers = post(server, body, content_type)
    assert status == 400, text
    doc = json.loads(text)
    assert "Traceback" not in text
    if record is not None:
        assert headers.get("x-lakeprep-record") == record
        assert f"record {record}" in doc["description"]
    if column is not None:
        assert headers.get("x-lakeprep-column") == column
        assert column in doc["description"]


def test_unsupported_media_types(server):
    assert post(server, "x", "application/xml")[0] == 415
    assert post(server, CSV_ROWS[0], "text/csv", "application/x-recordio-protobuf")[0] == 406
