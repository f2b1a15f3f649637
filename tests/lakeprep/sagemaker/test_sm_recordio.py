"""The Record encoder against hand-derived protobuf bytes and the tests' independent reader."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from sm_decoders import parse_record, read_recordio_frames

from lakeprep.errors import InputError
from lakeprep.sagemaker.recordio import (
    MAGIC,
    encode_record,
    frame,
    iter_frames,
    read_records,
    varint,
    varints,
)


def test_dense_record_bytes_match_the_protobuf_spec():
    # Record{features{"values": Value{float32_tensor{values:[1,2]}}}, label{... values:[1]}},
    # as the SDK's write_numpy_to_dense_tensor serializes one float32 row and its label.
    tensor = b"\x0a\x08" + struct.pack("<2f", 1.0, 2.0)
    value = b"\x12" + bytes([len(tensor)]) + tensor
    entry = b"\x0a\x06values\x12" + bytes([len(value)]) + value
    label_tensor = b"\x0a\x04" + struct.pack("<f", 1.0)
    label_value = b"\x12" + bytes([len(label_tensor)]) + label_tensor
    label_entry = b"\x0a\x06values\x12" + bytes([len(label_value)]) + label_value
    want = (b"\x0a" + bytes([len(entry)]) + entry + b"\x12" + bytes([len(label_entry)])
            + label_entry)
    assert encode_record([1.0, 2.0], label=1.0) == want


def test_sparse_record_has_keys_and_shape():
    payload = encode_record(np.array([2.5, -1.0]), label=0.0, keys=[3, 300], size=1000)
    record = parse_record(payload)
    assert record["features"]["values"] == {"values": [2.5, -1.0], "keys": [3, 300],
                                            "shape": [1000]}
    assert record["label"]["values"]["values"] == [0.0]


def test_frames_are_padded_to_four_bytes_and_read_back():
    payloads = [encode_record([float(i)] * i, label=1.0) for i in range(1, 6)]
    data = b"".join(frame(p) for p in payloads)
    assert struct.unpack_from("<I", data)[0] == MAGIC
    assert read_recordio_frames(data) == payloads  # the tests' own reader
    assert list(iter_frames(data)) == payloads  # the library's reader
    assert [r["features"]["values"]["values"] for r in read_records(data)] == \
        [[float(i)] * i for i in range(1, 6)]


def test_float32_rounding_and_no_label():
    record = parse_record(encode_record([1 / 3, 1e-50]))
    assert record["label"] == {}
    assert record["features"]["values"]["values"] == [float(np.float32(1 / 3)), 0.0]


def test_vectorised_varints_equal_scalar_ones():
    values = np.array([0, 1, 127, 128, 300, 16383, 16384, 2**32, 2**63 - 1, 2**64 - 1],
                      dtype=np.uint64)
    assert varints(values) == b"".join(varint(int(v)) for v in values)
    assert varint(300) == b"\xac\x02"


def test_corrupt_frames_are_named():
    good = frame(encode_record([1.0]))
    with pytest.raises(InputError, match="expected RecordIO magic"):
        list(iter_frames(b"\x00" * 8 + good, where="part-0.pbr"))
    with pytest.raises(InputError, match="claims"):
        list(iter_frames(good[:-4], where="part-0.pbr"))
