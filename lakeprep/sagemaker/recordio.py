"""Encode and decode Amazon Record protobuf messages in RecordIO framing, without `protobuf`.

The messages are ``aialgs.data.Record`` (``features`` and ``label``: ``map<string, Value>``, each
under the key ``"values"``) holding ``Float32Tensor`` values (``values`` float32, ``keys`` and
``shape`` uint64, all packed), as SageMaker's built-in algorithms read them. Field order and
packing follow protobuf's canonical serialization, so the bytes equal what the SageMaker Python
SDK (``write_numpy_to_dense_tensor``, ``write_spmatrix_to_sparse_tensor``) and sagemaker-spark's
``sagemaker`` data source write for the same rows.

>>> payload = encode_record([1.0, 2.0], label=1.0)
>>> decode_record(payload)["features"]["values"]["values"]
[1.0, 2.0]
>>> list(iter_frames(frame(payload))) == [payload]
True
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from lakeprep.errors import InputError

MAGIC = 0xCED7230A
_HEADER = struct.Struct("<II")
# MXNet RecordIO keeps a continuation flag in the top 3 bits of the length word; SageMaker writes
# whole records only, so the flag is always 0 and the length is the low 29 bits.
_LENGTH_MASK = (1 << 29) - 1
_WIRE_VARINT, _WIRE_I64, _WIRE_LEN, _WIRE_I32 = 0, 1, 2, 5
VALUES_KEY = "values"


def varint(value: int) -> bytes:
    """Encode one unsigned integer as a protobuf varint (``varint(300) == b'\\xac\\x02'``)."""
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def varints(values: np.ndarray) -> bytes:
    """Encode a uint64 array as concatenated varints, vectorised (a packed repeated field)."""
    a = np.asarray(values, dtype=np.uint64)
    if a.size == 0:
        return b""
    if int(a.max()) < 0x80:
        return a.astype(np.uint8).tobytes()
    shifts = np.arange(10, dtype=np.uint64) * np.uint64(7)
    groups = (a[:, None] >> shifts[None, :]) & np.uint64(0x7F)
    # An element needs as many 7-bit groups as reach its highest set bit (at least one).
    nonzero_rest = (a[:, None] >> shifts[None, :]) > 0
    lengths = np.maximum(nonzero_rest.sum(axis=1), 1)
    cols = np.arange(10)[None, :]
    keep = cols < lengths[:, None]
    more = cols < (lengths[:, None] - 1)
    out = groups.astype(np.uint8) | (more.astype(np.uint8) << 7)
    return out[keep].tobytes()


def _field(number: int, payload: bytes) -> bytes:
    return varint((number << 3) | _WIRE_LEN) + varint(len(payload)) + payload


def encode_float32_tensor(values: np.ndarray | Sequence[float],
                          keys: np.ndarray | Sequence[int] | None = None,
                          shape: Sequence[int] | None = None) -> bytes:
    """Serialize a Float32Tensor; empty repeated fields are left out, as protobuf does."""
    vals = np.asarray(values, dtype="<f4")
    out = b""
    if vals.size:
        out += _field(1, vals.tobytes())
    if keys is not None and len(keys):
        out += _field(2, varints(np.asarray(keys, dtype=np.uint64)))
    if shape is not None and len(shape):
        out += _field(3, varints(np.asarray(shape, dtype=np.uint64)))
    return out


def _values_map_entry(tensor: bytes) -> bytes:
    value = _field(2, tensor)  # Value.float32_tensor is field 2 of the oneof
    return _field(1, VALUES_KEY.encode()) + _field(2, value)


def encode_record(features: np.ndarray | Sequence[float], label: float | None = None,
                  keys: np.ndarray | Sequence[int] | None = None,
                  size: int | None = None) -> bytes:
    """Serialize one Record: dense when ``keys`` is None, else sparse with ``shape=[size]``.

    >>> decode_record(encode_record([2.0], keys=[1], size=3))["features"]["values"]
    {'values': [2.0], 'keys': [1], 'shape': [3]}
    """
    if keys is None:
        tensor = encode_float32_tensor(features)
    else:
        if size is None:
            raise ValueError("a sparse record needs its vector size for the tensor shape")
        tensor = encode_float32_tensor(features, keys, [size])
    out = _field(1, _values_map_entry(tensor))
    if label is not None:
        out += _field(2, _values_map_entry(encode_float32_tensor([label])))
    return out


def frame(payload: bytes) -> bytes:
    """Wrap one payload in RecordIO framing: magic, length, payload, zero padding to 4 bytes."""
    pad = (-len(payload)) % 4
    return _HEADER.pack(MAGIC, len(payload)) + payload + b"\x00" * pad


def iter_frames(data: bytes | memoryview, where: str = "<bytes>") -> Iterator[bytes]:
    """Yield the payloads of a RecordIO byte string, checking magic numbers and lengths."""
    view = memoryview(data)
    pos = 0
    while pos < len(view):
        if len(view) - pos < _HEADER.size:
            raise InputError(f"{where}: truncated RecordIO header at byte {pos}")
        magic, word = _HEADER.unpack_from(view, pos)
        if magic != MAGIC:
            raise InputError(f"{where}: expected RecordIO magic 0x{MAGIC:08x} at byte {pos}, "
                             f"found 0x{magic:08x}")
        length = word & _LENGTH_MASK
        start = pos + _HEADER.size
        if start + length > len(view):
            raise InputError(f"{where}: record at byte {pos} claims {length} bytes, "
                             f"only {len(view) - start} left")
        yield bytes(view[start:start + length])
        pos = start + length + ((-length) % 4)


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _iter_fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    pos = 0
    while pos < len(buf):
        tag, pos = _read_varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        value: int | bytes
        if wire == _WIRE_VARINT:
            value, pos = _read_varint(buf, pos)
        elif wire == _WIRE_LEN:
            length, pos = _read_varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire == _WIRE_I64:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == _WIRE_I32:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise InputError(f"unsupported protobuf wire type {wire} in field {number}")
        yield number, wire, value


def _decode_varints(buf: bytes) -> list[int]:
    out, pos = [], 0
    while pos < len(buf):
        value, pos = _read_varint(buf, pos)
        out.append(value)
    return out


def decode_float32_tensor(buf: bytes) -> dict[str, list]:
    """Parse a Float32Tensor into ``{"values": [...], "keys": [...], "shape": [...]}``."""
    tensor: dict[str, list] = {"values": [], "keys": [], "shape": []}
    for number, wire, value in _iter_fields(buf):
        if number == 1:
            tensor["values"].extend(
                np.frombuffer(value, dtype="<f4").tolist() if wire == _WIRE_LEN
                else struct.unpack("<f", value))
        elif number in (2, 3):
            name = "keys" if number == 2 else "shape"
            tensor[name].extend(_decode_varints(value) if wire == _WIRE_LEN else [value])
    return tensor


def _decode_value_map(entry: bytes) -> tuple[str, dict[str, list]]:
    key = ""
    tensor: dict[str, list] = {"values": [], "keys": [], "shape": []}
    for number, _, value in _iter_fields(entry):
        if number == 1:
            key = value.decode()
        elif number == 2:
            for vnum, _, vval in _iter_fields(value):
                if vnum != 2:
                    raise InputError(f"Value field {vnum} is not a Float32Tensor; only float32 "
                                     f"tensors are decoded")
                tensor = decode_float32_tensor(vval)
    return key, tensor


def decode_record(payload: bytes) -> dict[str, dict[str, dict[str, list]]]:
    """Parse one Record into ``{"features": {key: tensor}, "label": {key: tensor}}``.

    Tensors come back as dicts of lists; the doctest in the module shows the shape of it.
    """
    record: dict[str, dict[str, Any]] = {"features": {}, "label": {}}
    for number, _, value in _iter_fields(payload):
        if number in (1, 2):
            key, tensor = _decode_value_map(value)
            record["features" if number == 1 else "label"][key] = tensor
    return record


def read_records(data: bytes, where: str = "<bytes>") -> list[dict[str, Any]]:
    """Decode a whole RecordIO-protobuf file body into a list of records (see `decode_record`)."""
    return [decode_record(p) for p in iter_frames(data, where)]
