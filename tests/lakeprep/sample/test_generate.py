"""The sample retail generator: layout, determinism, and defects that are really in the files.

The files are read back with plain Python (csv, json) and classified independently of the
generator, so the report's counts are checked against what is on disk.
"""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from lakeprep.errors import UsageError
from lakeprep.sample.generate import generate

CUSTOMERS = 200
START = datetime(2026, 1, 1)
DAYS = 180
FUTURE = START + timedelta(days=DAYS + 365)
COUNTRIES = {"US", "GB", "DE", "FR", "ES", "IT", "NL", "SE", "PL", "CA"}
CATEGORIES = {"books", "electronics", "grocery", "home", "toys", "fashion", "sports", "beauty"}
EVENT_TYPES = {"page_view", "search", "add_to_cart", "checkout", "login"}
CUSTOMER_HEADER = [
    "customer_id", "full_name", "email", "country", "segment", "signup_ts", "birth_year",
    "updated_at",
]
KEYS = {"customers": "customer_id", "orders": "order_id", "web_events": "event_id"}
NULLABLE = {
    "customers": ["full_name", "email", "country", "segment", "birth_year"],
    "orders": ["customer_id", "amount", "currency", "category", "quantity", "status"],
    "web_events": ["customer_id", "page", "session_id", "device"],
}


def _iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


def _csv_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")


@pytest.fixture(scope="module")
def sample(spark, tmp_path_factory):
    out = tmp_path_factory.mktemp("retail")
    report = generate(spark, str(out), customers=CUSTOMERS, rows_per_file=600)
    return out, report


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")[:-1]


def _batch_lines(report, entity: str, number: int) -> tuple[list[str], list[str]]:
    """(headers, data lines) of one batch, files in order."""
    headers, data = [], []
    for file in report.batch(entity, number).files:
        lines = _lines(Path(file))
        if entity == "customers":
            headers.append(lines[0])
            lines = lines[1:]
        data += lines
    return headers, data


def _classify(entity: str, lines: list[str], header: list[str]) -> tuple[Counter, list[dict]]:
    """Defect kind of every line, by the rules the generator documents; and the clean records."""
    kinds: Counter = Counter()
    seen_lines: set[str] = set()
    seen_keys: set[str] = set()
    clean = []
    for line in lines:
        kind = _kind(entity, line, header, seen_lines, seen_keys)
        kinds[kind] += 1
        if kind == "none":
            clean.append(_parse(entity, line, header))
    return kinds, clean


def _parse(entity: str, line: str, header: list[str]) -> dict:
    if entity == "customers":
        fields = next(csv.reader([line], strict=True))
        if len(fields) != len(header):
            raise ValueError(f"{len(fields)} fields")
        return {name: (value or None) for name, value in zip(header, fields, strict=True)}
    return json.loads(line)


def _kind(entity, line, header, seen_lines, seen_keys) -> str:
    if line in seen_lines:
        return "exact_duplicate"
    seen_lines.add(line)
    try:
        record = _parse(entity, line, header)
    except (ValueError, csv.Error):
        return "malformed"
    key = record[KEYS[entity]]
    if key is None:
        return "null_key"
    if key in seen_keys:
        return "duplicate_key"
    seen_keys.add(key)
    if any(record[name] is None for name in NULLABLE[entity]):
        return "null_value"
    if entity == "customers":
        if not record["birth_year"].isdigit():
            return "wrong_type"
        if _csv_time(record["updated_at"]) > FUTURE:
            return "future_timestamp"
        if record["country"] not in COUNTRIES:
            return "unknown_category"
        return "none"
    if entity == "orders":
        if isinstance(record["amount"], str) or isinstance(record["quantity"], str):
            return "wrong_type"
        if record["amount"] < 0:
            return "negative_amount"
        if _iso(record["order_ts"]) > FUTURE:
            return "future_timestamp"
        if record["category"] not in CATEGORIES:
            return "unknown_category"
    else:
        if isinstance(record["event_ts"], int):
            return "wrong_type"
        if _iso(record["event_ts"]) > FUTURE:
            return "future_timestamp"
        if record["event_type"] not in EVENT_TYPES:
            return "unknown_category"
    if int(record["customer_id"][1:]) > CUSTOMERS:
        return "unknown_customer"
    return "none"


def test_layout_headers_and_no_stray_files(sample):
    out, report = sample
    on_disk = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    listed = sorted(str(Path(f).relative_to(out)) for b in report.batches for f in b.files)
    assert on_disk == listed  # no _SUCCESS, .crc or staging folders left behind
    assert sorted(p.name for p in out.iterdir()) == ["customers", "orders", "web_events"]
    for b in report.batches:
        ext = "csv" if b.entity == "customers" else "jsonl"
        names = [Path(f).name for f in b.files]
        assert names == [f"part-{i:05d}.{ext}" for i in range(len(names))]
        assert Path(b.path) == out / b.entity / f"batch_{b.batch}"
    # 600 rows per file: web events (about 2,300 and 2,800 rows per batch) span several files.
    assert [len(report.batch("web_events", n).files) for n in (1, 2)] == [4, 5]
    headers1, _ = _batch_lines(report, "customers", 1)
    headers2, _ = _batch_lines(report, "customers", 2)
    assert set(headers1) == {",".join(CUSTOMER_HEADER)}
    assert set(headers2) == {",".join(CUSTOMER_HEADER + ["loyalty_tier"])}
    assert report.batch("customers", 2).extra_columns == ["loyalty_tier"]
    assert report.batch("orders", 1).extra_columns == []


def test_report_line_counts_match_disk(sample):
    _, report = sample
    for b in report.batches:
        headers, data = _batch_lines(report, b.entity, b.batch)
        assert b.lines == len(data), (b.entity, b.batch)
        assert len(headers) == (len(b.files) if b.entity == "customers" else 0)
    assert report.lines("orders") == pytest.approx(CUSTOMERS * 8, rel=0.05)
    assert report.lines("web_events") == pytest.approx(CUSTOMERS * 25, rel=0.05)


@pytest.mark.parametrize("entity", ["customers", "orders", "web_events"])
def test_defect_counts_match_what_is_in_the_files(sample, entity):
    _, report = sample
    for number in (1, 2):
        headers, data = _batch_lines(report, entity, number)
        header = headers[0].split(",") if headers else []
        found, _ = _classify(entity, data, header)
        expected = {k: v for k, v in report.batch(entity, number).defects.items() if v}
        found.pop("none")
        assert dict(found) == expected, (entity, number)
        # Defects stay a small share of the data.
        assert 0 < sum(expected.values()) < 0.15 * len(data)


def test_every_defect_kind_is_present(sample):
    _, report = sample
    kinds = Counter()
    for entity in ("customers", "orders", "web_events"):
        kinds.update(report.defects(entity))
    for kind in ("null_value", "exact_duplicate", "duplicate_key", "malformed", "wrong_type",
                 "negative_amount", "future_timestamp", "unknown_category", "null_key",
                 "unknown_customer"):
        assert kinds[kind] > 0, kind
    # Both kinds of broken CSV line: an unclosed quote and a missing field.
    unclosed = missing = 0
    for number, width in ((1, 8), (2, 9)):
        _, data = _batch_lines(report, "customers", number)
        unclosed += sum(line.count('"') % 2 for line in data)
        missing += sum(len(next(csv.reader([line]))) == width - 1 for line in data)
    assert unclosed > 0 and missing > 0
    assert unclosed + missing == report.defects("customers")["malformed"]
    # Wrong types in orders take several shapes.
    _, orders = _batch_lines(report, "orders", 1)
    _, orders2 = _batch_lines(report, "orders", 2)
    shapes = {
        "comma": any('"amount":"' in o and "," in o.split('"amount":"')[1].split('"')[0]
                     for o in orders + orders2),
        "word": any('"quantity":"' in o for o in orders + orders2),
    }
    assert shapes == {"comma": True, "word": True}


def test_extra_column_only_from_batch_two(sample):
    _, report = sample
    _, first = _batch_lines(report, "orders", 1)
    _, second = _batch_lines(report, "orders", 2)
    assert not any("coupon_code" in line for line in first)
    parsed = [json.loads(line) for line in second if line.endswith("}")]
    assert all("coupon_code" in record for record in parsed)
    assert any(record["coupon_code"] for record in parsed)


def _customer_numbers(report, numbers) -> set[int]:
    found = set()
    for number in numbers:
        _, data = _batch_lines(report, "customers", number)
        found |= {int(line.split(",")[0][1:]) for line in data if line.split(",")[0]}
    return found


def test_time_slices_references_and_updates(sample):
    _, report = sample
    ranges, buyers = {}, set()
    for entity, ts in (("orders", "order_ts"), ("web_events", "event_ts")):
        for number in (1, 2):
            _, data = _batch_lines(report, entity, number)
            _, clean = _classify(entity, data, [])
            times = [_iso(r[ts]) for r in clean]
            ranges[entity, number] = (min(times), max(times))
            known = max(_customer_numbers(report, range(1, number + 1)))
            assert all(int(r["customer_id"][1:]) <= known for r in clean)
            if entity == "orders":
                buyers |= {r["customer_id"] for r in clean}
        # Batch 2 covers a later slice of [start, start + days).
        assert START <= ranges[entity, 1][0]
        assert ranges[entity, 1][1] < ranges[entity, 2][0]
        assert ranges[entity, 2][1] < START + timedelta(days=DAYS)
    assert 0.05 < 1 - len(buyers) / CUSTOMERS < 0.4  # some customers never order

    _, first = _batch_lines(report, "customers", 1)
    _, second = _batch_lines(report, "customers", 2)
    _, clean1 = _classify("customers", first, CUSTOMER_HEADER)
    _, clean2 = _classify("customers", second, CUSTOMER_HEADER + ["loyalty_tier"])
    earlier = {line.split(",")[0] for line in first} - {""}
    updates = [line for line in second if line.split(",")[0] in earlier]
    assert len(updates) == report.batch("customers", 2).updates > 0
    last_seen = {r["customer_id"]: _csv_time(r["updated_at"]) for r in clean1}
    for record in clean2:
        if record["customer_id"] in last_seen:
            assert _csv_time(record["updated_at"]) > last_seen[record["customer_id"]]


def test_duplicate_keys_carry_a_later_updated_at(sample):
    _, report = sample
    for number, header in ((1, CUSTOMER_HEADER), (2, CUSTOMER_HEADER + ["loyalty_tier"])):
        _, data = _batch_lines(report, "customers", number)
        first_seen: dict[str, tuple[str, datetime]] = {}
        changed = 0
        for line in data:
            try:
                record = _parse("customers", line, header)
            except (ValueError, csv.Error):
                continue
            key, updated = record["customer_id"], _csv_time(record["updated_at"])
            if key in first_seen and first_seen[key][0] != line:
                assert updated > first_seen[key][1], line
                changed += 1
            first_seen.setdefault(key, (line, updated))
        assert changed == report.batch("customers", number).defects.get("duplicate_key", 0)


def test_same_seed_same_bytes_other_seed_other_data(spark, sample, tmp_path):
    out, report = sample
    again = generate(spark, str(tmp_path / "again"), customers=CUSTOMERS, rows_per_file=600)
    assert again.to_dict()["batches"][0]["defects"] == report.to_dict()["batches"][0]["defects"]
    for b in report.batches:
        for file in b.files:
            twin = tmp_path / "again" / Path(file).relative_to(out)
            assert twin.read_bytes() == Path(file).read_bytes(), file
    other = generate(spark, str(tmp_path / "other"), customers=30, batches=1, seed=7,
                     orders_per_customer=2, events_per_customer=2)
    same_size = generate(spark, str(tmp_path / "other42"), customers=30, batches=1, seed=42,
                         orders_per_customer=2, events_per_customer=2)
    for entity in ("customers", "orders", "web_events"):
        a = Path(other.batch(entity, 1).files[0]).read_text()
        b = Path(same_size.batch(entity, 1).files[0]).read_text()
        assert a != b, entity


def test_refuses_a_non_empty_batch_folder_unless_overwrite(spark, tmp_path):
    stray = tmp_path / "orders" / "batch_1" / "part-00000.jsonl"
    stray.parent.mkdir(parents=True)
    stray.write_text("{}\n")
    with pytest.raises(UsageError, match=r"orders/batch_1 already holds files.*overwrite"):
        generate(spark, str(tmp_path), customers=20, batches=1, orders_per_customer=1,
                 events_per_customer=1)
    assert sorted(os.listdir(tmp_path)) == ["orders"]  # nothing written before the refusal
    report = generate(spark, str(tmp_path), customers=20, batches=1, orders_per_customer=1,
                      events_per_customer=1, defects=False, overwrite=True)
    assert stray.read_text() != "{}\n"
    assert all(not any(b.defects.values()) for b in report.batches)
    for entity in ("orders", "web_events"):
        _, data = _batch_lines(report, entity, 1)
        found, clean = _classify(entity, data, [])
        assert found == Counter(none=len(data)) and len(clean) == len(data) > 0
    assert "customers" in report.summary() and "20 customers" in report.summary()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"customers": 0}, "customers must be an integer >= 1; got 0"),
        ({"batches": 3, "days": 2}, r"days \(2\) must be at least batches \(3\)"),
        ({"start": "01/02/2026"}, "start must be a date like 2026-01-01; got '01/02/2026'"),
        ({"orders_per_customer": -1}, "orders_per_customer must be a positive number"),
        ({"customers": 2, "batches": 3, "days": 10}, "2 customers cannot fill 3 batches"),
    ],
)
def test_rejects_bad_arguments(spark, tmp_path, kwargs, message):
    with pytest.raises(UsageError, match=message):
        generate(spark, str(tmp_path), **kwargs)
