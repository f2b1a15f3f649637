"""Readers for every channel format, written apart from the library so that they check it.

The RecordIO-protobuf reader follows the wire format from the spec (RecordIO framing, protobuf
wire types, aialgs.data.Record field numbers) and shares no code with lakeprep.sagemaker.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

RECORDIO_MAGIC = 0xCED7230A


def read_recordio_frames(data: bytes) -> list[bytes]:
    """Split RecordIO bytes into payloads, asserting magic, lengths and zero padding."""
    frames, pos = [], 0
    while pos < len(data):
        magic, length = struct.unpack_from("<II", data, pos)
        assert magic == RECORDIO_MAGIC, f"bad magic {magic:#x} at {pos}"
        assert length >> 29 == 0, "continuation flag set"
        body_end = pos + 8 + length
        assert body_end <= len(data), "record runs past the end of the file"
        frames.append(data[pos + 8:body_end])
        pad = (4 - length % 4) % 4
        assert data[body_end:body_end + pad] == b"\x00" * pad, "padding is not zeros"
        pos = body_end + pad
        assert pos % 4 == 0
    assert pos == len(data)
    return frames


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        b = buf[pos]
        value |= (b & 0x7F) << shift
        pos += 1
        shift += 7
        if not b & 0x80:
            return value, pos


def parse_message(buf: bytes) -> list[tuple[int, int, object]]:
    """(field number, wire type, raw value) in wire order; only varint and length-delimited."""
    fields, pos = [], 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            n, pos = _varint(buf, pos)
            value = buf[pos:pos + n]
            assert len(value) == n
            pos += n
        else:
            raise AssertionError(f"unexpected wire type {wire} for field {number}")
        fields.append((number, wire, value))
    return fields


def _packed_varints(buf: bytes) -> list[int]:
    out, pos = [], 0
    while pos < len(buf):
        v, pos = _varint(buf, pos)
        out.append(v)
    return out


def parse_float32_tensor(buf: bytes) -> dict:
    tensor = {"values": [], "keys": [], "shape": []}
    last = 0
    for number, wire, value in parse_message(buf):
        assert wire == 2, "repeated fields must be packed"
        assert number >= last, "fields out of canonical order"
        last = number
        if number == 1:
            assert len(value) % 4 == 0
            tensor["values"] += list(struct.unpack(f"<{len(value) // 4}f", value))
        elif number == 2:
            tensor["keys"] += _packed_varints(value)
        elif number == 3:
            tensor["shape"] += _packed_varints(value)
        else:
            raise AssertionError(f"Float32Tensor has no field {number}")
    return tensor


def _map_entry(buf: bytes) -> tuple[str, dict]:
    fields = parse_message(buf)
    assert [f[0] for f in fields] == [1, 2], f"map entry fields {[f[0] for f in fields]}"
    key = fields[0][2].decode()
    value = parse_message(fields[1][2])
    assert [(n, w) for n, w, _ in value] == [(2, 2)], "Value must hold only a float32_tensor"
    return key, parse_float32_tensor(value[0][2])


def parse_record(payload: bytes) -> dict:
    """aialgs.data.Record -> {"features": {key: tensor}, "label": {key: tensor}}."""
    record = {"features": {}, "label": {}}
    last = 0
    for number, wire, value in parse_message(payload):
        assert wire == 2 and number in (1, 2), f"unexpected Record field {number}"
        assert number >= last, "Record fields out of canonical order"
        last = number
        key, tensor = _map_entry(value)
        record["features" if number == 1 else "label"][key] = tensor
    return record


def read_recordio_dir(folder: Path) -> list[dict]:
    return [parse_record(p) for f in sorted(folder.iterdir())
            for p in read_recordio_frames(f.read_bytes())]


def read_csv_dir(folder: Path) -> list[tuple[float, tuple[float, ...]]]:
    rows = []
    for f in sorted(folder.iterdir()):
        for line in f.read_text().splitlines():
            cells = [float(c) for c in line.split(",")]
            rows.append((cells[0], tuple(cells[1:])))
    return rows


def read_libsvm_dir(folder: Path, index_base: int) -> list[tuple[float, dict[int, float]]]:
    rows = []
    for f in sorted(folder.iterdir()):
        for line in f.read_text().splitlines():
            label, *pairs = line.split(" ")
            entries = {}
            for pair in pairs:
                i, v = pair.split(":")
                if float(v) != 0.0:  # an explicit zero only marks the file's width
                    entries[int(i) - index_base] = float(v)
            rows.append((float(label), entries))
    return rows


def read_parquet_dir(folder: Path):
    return pa.concat_tables([pq.read_table(f) for f in sorted(folder.iterdir())])
