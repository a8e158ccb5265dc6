"""Parsing and checking the header against every rule of docs/FORMAT.md, before any allocation."""

from __future__ import annotations

import json
import re
from typing import Any

from thrifty.errors import (
    DecodedSizeTooLarge,
    DuplicateKey,
    HeaderNotJson,
    HeaderNotUtf8,
    InvalidHeader,
    PackFormatError,
    RecordGap,
    RecordOverlap,
    ShapeOverflow,
    TrailingBytes,
    TruncatedFile,
)
from thrifty.pack.format import (
    DTYPES,
    MAX_CODEBOOK,
    MAX_DIMS,
    MAX_ENUMERATIVE_SYMBOLS,
    MAX_GRAPH_BYTES,
    MAX_TENSOR_BYTES,
    MAX_TENSORS,
    MAX_TOTAL_BYTES,
    VERSION,
)

SHA256 = re.compile(r"[0-9a-f]{64}")
INT_LIMIT = 2**63
TOP_KEYS = {"format", "version", "graph", "tensors", "body_sha256", "metadata"}
STREAM_CODERS = {"bitpack", "rans", "zstd", "enumerative"}
MAX_ALPHABET = 2**32


def parse_header(raw: bytes) -> dict[str, Any]:
    """The header as a checked dict: UTF-8, JSON, no duplicate keys, every field valid."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise HeaderNotUtf8(f"the header is not UTF-8 (byte {error.start})") from error
    try:
        header = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except PackFormatError:
        raise
    except (ValueError, RecursionError) as error:  # ValueError: also an int of over 4300 digits
        raise HeaderNotJson(f"the header is not JSON: {error}") from error
    if not isinstance(header, dict):
        raise HeaderNotJson("the header must be one JSON object")
    try:  # a lone surrogate (\ud800) is valid JSON syntax but no Unicode string
        json.dumps(header, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as error:
        raise HeaderNotUtf8(f"the header escapes a lone surrogate: {error.reason}") from error
    except RecursionError as error:
        raise HeaderNotJson("the header nests too deeply") from error
    check_header(header)
    return header


def _no_constant(name: str):
    raise HeaderNotJson(f"the header is not JSON: {name} is not a JSON number")


def _no_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise DuplicateKey(f"the header repeats the key {key!r}")
        seen[key] = value
    return seen


def check_header(header: dict) -> None:
    unknown = set(header) - TOP_KEYS
    if unknown:
        raise InvalidHeader(f"unknown header keys {sorted(unknown)}")
    if header.get("format") != "thrifty" or header.get("version") != VERSION:
        raise InvalidHeader("header must say format 'thrifty', version 1")
    _sha(header, "body_sha256", "header")
    if not isinstance(header.get("metadata", {}), dict):
        raise InvalidHeader("metadata must be a JSON object")
    graph = _table(header, "graph", "header")
    _exact_keys(graph, {"offset", "length", "sha256", "coder", "size"}, "graph")
    _record(graph, "graph")
    size = _int(graph, "size", "graph")
    if size > MAX_GRAPH_BYTES:
        raise DecodedSizeTooLarge(f"the graph declares {size} bytes, over {MAX_GRAPH_BYTES}")
    if graph["coder"] not in ("raw", "zstd") or (
        graph["coder"] == "raw" and size != graph["length"]
    ):
        raise InvalidHeader("graph coder must be raw (length == size) or zstd")
    tensors = header.get("tensors")
    if not isinstance(tensors, list) or len(tensors) > MAX_TENSORS:
        raise InvalidHeader(f"tensors must be a list of at most {MAX_TENSORS}")
    names, total = set(), 0
    for index, entry in enumerate(tensors):
        total += check_tensor(entry, f"tensors[{index}]")
        if entry["name"] in names:
            raise InvalidHeader(f"tensor name {entry['name']!r} appears twice")
        names.add(entry["name"])
        if total > MAX_TOTAL_BYTES:
            raise DecodedSizeTooLarge(f"tensors decode to over {MAX_TOTAL_BYTES} bytes in all")
    work = sum(enumerative_symbols(entry) for entry in tensors)
    if work > MAX_ENUMERATIVE_SYMBOLS:
        raise DecodedSizeTooLarge(
            f"enumerative streams hold {work} symbols in all, over {MAX_ENUMERATIVE_SYMBOLS}"
        )


def enumerative_symbols(entry: dict[str, Any]) -> int:
    """Symbols in the entry's enumerative streams, the costly ones to decode."""
    streams = (entry.get("positions"), entry.get("values"))
    return sum(
        s["count"] for s in streams if isinstance(s, dict) and s.get("coder") == "enumerative"
    )


def check_tensor(entry: Any, where: str) -> int:
    """Check one tensor entry; return its decoded size in bytes."""
    if not isinstance(entry, dict):
        raise InvalidHeader(f"{where} must be an object")
    layout = entry.get("layout")
    keys = {"name", "dtype", "shape", "offset", "length", "sha256", "layout", "values"}
    _exact_keys(entry, keys | ({"positions"} if layout == "sparse" else set()), where)
    if not isinstance(entry["name"], str) or not entry["name"]:
        raise InvalidHeader(f"{where}.name must be a non-empty string")
    if not isinstance(entry["dtype"], str) or entry["dtype"] not in DTYPES:  # may be a list
        raise InvalidHeader(f"{where}.dtype {entry['dtype']!r} is not one of {sorted(DTYPES)}")
    width = DTYPES[entry["dtype"]][0]
    count = element_count(entry["shape"], width, where)
    nbytes = count * width
    if nbytes > MAX_TENSOR_BYTES:
        raise DecodedSizeTooLarge(f"{where} decodes to {nbytes} bytes, over {MAX_TENSOR_BYTES}")
    _record(entry, where)
    values = _table(entry, "values", where)
    streams = _values(values, width, f"{where}.values")
    if layout == "dense":
        if values["count"] != count:
            raise InvalidHeader(
                f"{where}: a dense tensor has {count} values, not {values['count']}"
            )
    elif layout == "sparse":
        positions = _table(entry, "positions", where)
        streams += _positions(positions, count, values["count"], f"{where}.positions")
    else:
        raise InvalidHeader(f"{where}.layout must be 'dense' or 'sparse'")
    if streams != entry["length"]:
        raise InvalidHeader(f"{where}: streams add up to {streams} bytes, not {entry['length']}")
    return nbytes


def element_count(shape: Any, width: int, where: str) -> int:
    if not isinstance(shape, list) or len(shape) > MAX_DIMS:
        raise InvalidHeader(f"{where}.shape must be a list of at most {MAX_DIMS} integers")
    count = 1
    for dim in shape:
        if not _is_int(dim) or dim < 0:
            raise InvalidHeader(f"{where}.shape has {dim!r}; dimensions are integers >= 0")
        count *= dim
        if count * width >= INT_LIMIT:
            raise ShapeOverflow(f"{where}.shape {shape} overflows 2^63 bytes")
    return count


def _values(values: dict, width: int, where: str) -> int:
    method = values.get("method")
    if method == "raw":
        _exact_keys(values, {"method", "coder", "count", "length"}, where)
        if values["coder"] not in ("raw", "zstd"):
            raise InvalidHeader(f"{where}.coder must be raw or zstd")
        count, length = _int(values, "count", where), _int(values, "length", where)
        if values["coder"] == "raw" and length != count * width:
            raise InvalidHeader(f"{where}: {count} raw values take {count * width} bytes")
        return length
    if method == "codebook":
        keys = {"method", "table", "table_length", "coder", "count", "alphabet", "length"}
        _exact_keys(values, keys, where)
        table = _int(values, "table", where)
        if not 1 <= table <= MAX_CODEBOOK or values["alphabet"] != table:
            raise InvalidHeader(
                f"{where}: a codebook has 1 to {MAX_CODEBOOK} entries, its alphabet"
            )
        if _int(values, "table_length", where) != table * width:
            raise InvalidHeader(f"{where}.table_length must be {table * width}")
        return table * width + _stream(values, where)
    raise InvalidHeader(f"{where}.method must be 'raw' or 'codebook'")


def _positions(positions: dict, count: int, nonzero: int, where: str) -> int:
    _exact_keys(positions, {"method", "coder", "count", "alphabet", "length"}, where)
    length = _stream(positions, where)
    if nonzero > count:
        raise InvalidHeader(f"{where}: {nonzero} values for {count} elements")
    if positions["method"] == "bitmask":
        if positions["count"] != count or positions["alphabet"] != 2:
            raise InvalidHeader(f"{where}: a bitmask has one symbol of alphabet 2 per element")
    elif positions["method"] == "gaps":
        if positions["count"] != nonzero:
            raise InvalidHeader(f"{where}: gaps have one symbol per value")
    else:
        raise InvalidHeader(f"{where}.method must be 'bitmask' or 'gaps'")
    return length


def _stream(stream: dict, where: str) -> int:
    if not isinstance(stream.get("coder"), str) or stream["coder"] not in STREAM_CODERS:
        raise InvalidHeader(f"{where}.coder must be one of {sorted(STREAM_CODERS)}")
    _int(stream, "count", where)
    alphabet = _int(stream, "alphabet", where)
    if not 1 <= alphabet <= MAX_ALPHABET:
        raise InvalidHeader(f"{where}.alphabet must be 1 to 2^32")
    return _int(stream, "length", where)


def _record(entry: dict, where: str) -> None:
    _int(entry, "offset", where)
    _int(entry, "length", where)
    _sha(entry, "sha256", where)


def check_records(header: dict, body_length: int) -> list[tuple[int, int, str]]:
    """Records sorted by offset: back to back from 0, ending exactly at the end of the body."""
    records = [(header["graph"]["offset"], header["graph"]["length"], "graph")]
    records += [(t["offset"], t["length"], t["name"]) for t in header["tensors"]]
    records.sort()
    end = 0
    for offset, length, name in records:
        if offset > end:
            raise RecordGap(f"record {name!r} starts at {offset}, after a gap from {end}")
        if offset < end:
            raise RecordOverlap(f"record {name!r} starts at {offset}, inside the one before")
        end = offset + length
    if end > body_length:
        raise TruncatedFile(f"records end at body byte {end}, the file's body has {body_length}")
    if end < body_length:
        raise TrailingBytes(f"{body_length - end} bytes follow the last record")
    return records


def _table(entry: dict, key: str, where: str) -> dict:
    value = entry.get(key)
    if not isinstance(value, dict):
        raise InvalidHeader(f"{where}.{key} must be an object")
    return value


def _exact_keys(entry: dict, keys: set[str], where: str) -> None:
    if set(entry) != keys:
        missing, extra = sorted(keys - set(entry)), sorted(set(entry) - keys)
        raise InvalidHeader(f"{where}: missing keys {missing}, unknown keys {extra}")


def _int(entry: dict, key: str, where: str) -> int:
    value = entry.get(key)
    if not _is_int(value) or not 0 <= value < INT_LIMIT:
        raise InvalidHeader(f"{where}.{key} must be an integer from 0 to 2^63, got {value!r}")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _sha(entry: dict, key: str, where: str) -> None:
    value = entry.get(key)
    if not isinstance(value, str) or not SHA256.fullmatch(value):
        raise InvalidHeader(f"{where}.{key} must be a SHA-256 in 64 lowercase hex digits")
