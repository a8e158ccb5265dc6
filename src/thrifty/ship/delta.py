"""A delta object: one tensor record of a new .thrifty file, said relative to the record of the
same tensor in an earlier version (docs/STORE.md, "Deltas", is the byte layout).

Fine-tuning moves most weights a little. That changes an entropy-coded record almost everywhere,
but what the record encodes hardly changes, so a delta works on the record's streams, decoded:
each stream is predicted from the base tensor's elements, and only the difference is coded
(mostly zeros; codebook indices and int8 values that moved move by one). Rebuilding decodes the
base record, adds the differences back and encodes every stream again with the coder the new
file's header names. The pack's coders are deterministic, so that gives the record byte for
byte, and the record's SHA-256 from the header confirms it before anything is written.

The predictions, for a new record whose header entry the receiver has:

- sparse positions: the same method (bitmask or gaps) computed on the base's non-zero elements;
  the difference is taken modulo the stream's alphabet (a bitmask: XOR). Gaps of another count
  than the base's are sent whole.
- a codebook's table: always sent whole (at most 256 elements).
- codebook indices: each value's element in the base, ranked in the base's own table when it
  has as many entries as the new one (k-means centroids that moved keep their rank), otherwise
  in the new table; the difference modulo the table's size.
- raw values: the base's elements at the same places; the difference is wrapping subtraction
  of the bit patterns as unsigned integers of the dtype's width, sent as byte planes (every
  element's lowest byte, then the next, ...), which zstd and rANS code far better.

A part is sent whole when that is shorter than its difference coded.
"""

from __future__ import annotations

import hashlib
import json
import struct
from typing import Any

import numpy as np

from thrifty.errors import BadDelta, PackFormatError
from thrifty.pack.coders import CODERS, decode_stream, encode_stream
from thrifty.pack.format import BITS, DTYPES
from thrifty.pack.header import check_tensor
from thrifty.pack.tensors import BYTES, decode_tensor, decode_values, value_indices

MAGIC = b"THDELTA\x00"
VERSION = 1
PREAMBLE = struct.Struct("<8sHHI")  # magic, version, flags, length of the base's entry
PART = struct.Struct("<BBQ")  # form, coder, payload length
WHOLE, DIFFERENCE = 0, 1
# A difference's coder byte indexes this tuple. Enumerative coding is left out: its big-integer
# work per symbol would make rebuilding cost more than decoding a record does.
DELTA_CODERS = ("bitpack", "rans", "zstd")
MAX_BASE_ENTRY = 2**20  # bytes of JSON: a tensor's entry takes a few hundred


def encode_delta(
    base_entry: dict[str, Any], base_record: bytes, entry: dict[str, Any], record: bytes
) -> bytes:
    """The delta object that rebuilds ``record`` (described by ``entry``, its header entry in
    the new file) from ``base_record`` (``base_entry``); both entries must be of one dtype and
    shape. The caller decides whether it is small enough to be worth keeping."""
    if (base_entry["dtype"], base_entry["shape"]) != (entry["dtype"], entry["shape"]):
        raise ValueError("a delta needs two records of one dtype and shape")
    base = _Base(base_entry, base_record)
    coders = {name: CODERS[name] for name in DELTA_CODERS}
    parts, cursor, places, table = [], 0, None, None
    for kind in _kinds(entry):
        length = _stream_length(kind, entry)
        whole = record[cursor : cursor + length]
        cursor += length
        difference, places, table = _difference(kind, entry, whole, base, places, table)
        if difference is not None:
            spec, payload = encode_stream(difference, _difference_size(kind, entry)[1], coders)
            if len(payload) < len(whole):
                parts.append(PART.pack(DIFFERENCE, DELTA_CODERS.index(spec["coder"]), len(payload)))
                parts.append(payload)
                continue
        parts += [PART.pack(WHOLE, 0, len(whole)), bytes(whole)]
    described = json.dumps(base_entry, separators=(",", ":")).encode("utf-8")
    return PREAMBLE.pack(MAGIC, VERSION, 0, len(described)) + described + b"".join(parts)


def apply_delta(entry: dict[str, Any], delta: bytes, base_record: bytes) -> bytes:
    """The record that header ``entry`` describes, rebuilt from ``delta`` and the base record;
    BadDelta for anything that does not decode or does not give the record's SHA-256."""
    try:
        base_entry, parts = _parse(delta, entry)
        if len(base_record) != base_entry["length"] or (
            hashlib.sha256(base_record).hexdigest() != base_entry["sha256"]
        ):
            raise BadDelta("the base record's bytes are not those the delta was made against")
        record = _rebuild(entry, parts, _Base(base_entry, base_record))
    except PackFormatError as error:
        raise BadDelta(f"the delta does not decode: {error}") from None
    if len(record) != entry["length"] or hashlib.sha256(record).hexdigest() != entry["sha256"]:
        raise BadDelta(f"the delta rebuilds other bytes than record {entry['name']!r}")
    return record


class _Base:
    """The base tensor's elements (flat bit patterns) and its codebook table, if it has one."""

    def __init__(self, entry: dict[str, Any], record: bytes):
        bits = BITS[DTYPES[entry["dtype"]][0]]
        self.elements = decode_tensor(entry, record).reshape(-1).view(bits)
        self.table = None
        if entry["values"]["method"] == "codebook":
            start = entry["positions"]["length"] if entry["layout"] == "sparse" else 0
            table = record[start : start + entry["values"]["table_length"]]
            self.table = np.frombuffer(table, dtype=bits)

    def positions(self, method: str) -> np.ndarray:
        """The base's non-zero elements as a positions stream of ``method``."""
        nonzero = self.elements != 0
        if method == "bitmask":
            return nonzero.astype(np.int64)
        return np.diff(np.flatnonzero(nonzero), prepend=-1) - 1

    def values(self, places: np.ndarray | None) -> np.ndarray:
        """The base's elements where the new tensor's values are (None: everywhere)."""
        return self.elements if places is None else self.elements[places]

    def indices(self, places: np.ndarray | None, table: np.ndarray) -> np.ndarray:
        """Codebook indices predicted for the new values: the rank of each base element."""
        ranks = self.table if self.table is not None and len(self.table) == len(table) else table
        return np.minimum(np.searchsorted(ranks, self.values(places)), len(table) - 1)


def _kinds(entry: dict[str, Any]) -> list[str]:
    """The record's parts in record order."""
    kinds = ["positions"] if entry["layout"] == "sparse" else []
    if entry["values"]["method"] == "codebook":
        return [*kinds, "table", "indices"]
    return [*kinds, "raw"]


def _stream_length(kind: str, entry: dict[str, Any]) -> int:
    if kind == "positions":
        return entry["positions"]["length"]
    if kind == "table":
        return entry["values"]["table_length"]
    return entry["values"]["length"]


def _difference_size(kind: str, entry: dict[str, Any]) -> tuple[int, int]:
    """(count, alphabet) of a part's difference stream, from the new record's header entry."""
    if kind == "positions":
        return entry["positions"]["count"], entry["positions"]["alphabet"]
    values = entry["values"]
    if kind == "indices":
        return values["count"], values["table"]
    return values["count"] * DTYPES[entry["dtype"]][0], BYTES


def _count(entry: dict[str, Any]) -> int:
    return int(np.prod(entry["shape"], dtype=np.int64)) if entry["shape"] else 1


def _difference(kind, entry, whole, base: _Base, places, table):
    """The difference symbols of one part of the new record (None: send it whole), and what
    the parts after it need: where the values are, and the codebook's table."""
    if kind == "table":
        return None, places, np.frombuffer(whole, dtype=BITS[DTYPES[entry["dtype"]][0]])
    if kind == "positions":
        spec = entry["positions"]
        symbols = decode_stream(spec, whole)
        places = value_indices(spec["method"], symbols, entry["values"]["count"], _count(entry))
        predicted = base.positions(spec["method"])
        if len(predicted) != len(symbols):
            return None, places, table
        return (symbols.astype(np.int64) - predicted) % spec["alphabet"], places, table
    if kind == "indices":
        symbols = decode_stream(entry["values"], whole)
        predicted = base.indices(places, table)
        return (symbols.astype(np.int64) - predicted) % len(table), places, table
    width = DTYPES[entry["dtype"]][0]
    values = decode_values(entry["values"], whole, width)
    return _planes(values - base.values(places)), places, table  # unsigned: wraps


def _parse(delta: bytes, entry: dict[str, Any]) -> tuple[dict[str, Any], list]:
    """The base's header entry and the parts (kind, form, coder, payload), every field checked."""
    if len(delta) < PREAMBLE.size:
        raise BadDelta(f"a delta object of {len(delta)} bytes is shorter than its preamble")
    magic, version, flags, described = PREAMBLE.unpack_from(delta)
    if magic != MAGIC or version != VERSION or flags:
        raise BadDelta("not a delta object of version 1 (magic THDELTA\\0, no flags)")
    if not 2 <= described <= MAX_BASE_ENTRY or len(delta) < PREAMBLE.size + described:
        raise BadDelta(f"the delta's base entry of {described} bytes does not fit")
    try:
        base_entry = json.loads(delta[PREAMBLE.size : PREAMBLE.size + described].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise BadDelta(f"the delta's base entry is not UTF-8 JSON: {error}") from None
    check_tensor(base_entry, "the delta's base")
    if (base_entry["dtype"], base_entry["shape"]) != (entry["dtype"], entry["shape"]):
        raise BadDelta("the delta's base is a tensor of another dtype or shape")
    cursor, parts = PREAMBLE.size + described, []
    for kind in _kinds(entry):
        if len(delta) - cursor < PART.size:
            raise BadDelta("the delta object ends before its parts do")
        form, coder, length = PART.unpack_from(delta, cursor)
        cursor += PART.size
        if (form, coder) != (WHOLE, 0) and (
            kind == "table" or form != DIFFERENCE or coder >= len(DELTA_CODERS)
        ):
            raise BadDelta(f"the delta's {kind} part has form {form}, coder {coder}")
        if form == WHOLE and length != _stream_length(kind, entry):
            raise BadDelta(f"the delta's whole {kind} part is not the record's stream")
        if length > len(delta) - cursor:
            raise BadDelta(f"the delta's {kind} part runs past the object's end")
        parts.append((kind, form, DELTA_CODERS[coder], delta[cursor : cursor + length]))
        cursor += length
    if cursor != len(delta):
        raise BadDelta(f"{len(delta) - cursor} bytes follow the delta's last part")
    return base_entry, parts


def _rebuild(entry: dict[str, Any], parts: list, base: _Base) -> bytes:
    """Each part's stream of the new record, from its difference or as sent."""
    streams, places, table = [], None, None
    for kind, form, coder, payload in parts:
        if kind == "table":
            table = np.frombuffer(payload, dtype=BITS[DTYPES[entry["dtype"]][0]])
            streams.append(payload)
            continue
        if form == WHOLE:
            stream = payload
        else:
            count, alphabet = _difference_size(kind, entry)
            description = {"coder": coder, "count": count, "alphabet": alphabet}
            difference = decode_stream({**description, "length": len(payload)}, payload)
            stream = _restore(kind, entry, difference, base, places, table)
        if kind == "positions":
            spec = entry["positions"]
            symbols = decode_stream(spec, stream)
            places = value_indices(spec["method"], symbols, entry["values"]["count"], _count(entry))
        streams.append(stream)
    return b"".join(streams)


def _restore(kind, entry, difference, base: _Base, places, table) -> bytes:
    """One stream of the new record from its difference, encoded as the header says."""
    if kind == "positions":
        spec = entry["positions"]
        predicted = base.positions(spec["method"])
        if len(predicted) != spec["count"]:
            raise BadDelta("the delta's positions have another count than the base's")
        return _encode_as(spec, (predicted + difference) % spec["alphabet"])
    values = entry["values"]
    if kind == "indices":
        predicted = base.indices(places, table)
        return _encode_as(values, (predicted + difference) % values["table"])
    width = DTYPES[entry["dtype"]][0]
    data = (base.values(places) + _unplanes(difference, width)).tobytes()  # unsigned: wraps
    if values["coder"] == "raw":
        return data
    return CODERS["zstd"].encode(np.frombuffer(data, np.uint8), BYTES)


def _encode_as(spec: dict[str, Any], symbols: np.ndarray) -> bytes:
    """``symbols`` encoded by the coder ``spec`` names: the bytes pack wrote, if they are the
    symbols pack coded."""
    payload = CODERS[spec["coder"]].encode(symbols, spec["alphabet"])
    if payload is None or len(payload) != spec["length"]:
        raise BadDelta(f"the delta's symbols do not encode to the record's {spec['coder']} stream")
    return payload


def _planes(values: np.ndarray) -> np.ndarray:
    """Unsigned integers as byte planes: every element's first byte, then every second, ..."""
    width = values.dtype.itemsize
    return np.ascontiguousarray(values.view(np.uint8).reshape(-1, width).T).reshape(-1)


def _unplanes(planes: np.ndarray, width: int) -> np.ndarray:
    rows = np.asarray(planes, dtype=np.uint8).reshape(width, -1)
    return np.ascontiguousarray(rows.T).reshape(-1).view(BITS[width])
