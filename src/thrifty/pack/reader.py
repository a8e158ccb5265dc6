"""Reading a .thrifty file: each rule of docs/FORMAT.md checked before the bytes it guards."""

from __future__ import annotations

import contextlib
import hashlib
import mmap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from thrifty.errors import (
    CorruptModel,
    CorruptStream,
    HeaderChecksumMismatch,
    HeaderTooLarge,
    NotAThriftyFile,
    PackFormatError,
    RecordChecksumMismatch,
    TruncatedFile,
    UnsafeModel,
    UnsupportedVersion,
)
from thrifty.pack.coders import CODERS
from thrifty.pack.format import MAGIC, MAX_HEADER_BYTES, PREAMBLE, PREAMBLE_SIZE, VERSION
from thrifty.pack.header import check_records, parse_header
from thrifty.pack.tensors import BYTES, decode_tensor
from thrifty.paths import existing_file


@dataclass(frozen=True)
class Packed:
    """A checked .thrifty file: its header, and the decoded graph and tensors."""

    header: dict[str, Any]
    proto: Any  # onnx.ModelProto with its weights back in place
    arrays: dict[str, np.ndarray]
    file_bytes: int


def read_header(data: bytes | memoryview) -> tuple[dict[str, Any], int]:
    """The checked header and where the body starts; reads only the preamble and the header,
    and checks that the records fill the rest of ``data`` exactly."""
    header, body = read_plan(data)
    check_records(header, len(data) - body)
    return header, body


def read_plan(data: bytes | memoryview) -> tuple[dict[str, Any], int]:
    """The checked header and where the body starts, from ``data`` holding at least the preamble
    and the header (a store's first chunk of the file); the records are not looked at."""
    if len(data) < PREAMBLE_SIZE:
        raise TruncatedFile(f"{len(data)} bytes: shorter than the {PREAMBLE_SIZE}-byte preamble")
    magic, version, flags, length, digest = PREAMBLE.unpack_from(data)
    if magic != MAGIC:
        raise NotAThriftyFile("it does not start with THRIFTY\\0")
    if version != VERSION or flags:
        raise UnsupportedVersion(f"format version {version}, flags {flags}: this reader knows 1, 0")
    if not 2 <= length <= MAX_HEADER_BYTES:
        raise HeaderTooLarge(f"header length {length}: it must be 2 to {MAX_HEADER_BYTES} bytes")
    if len(data) < PREAMBLE_SIZE + length:
        raise TruncatedFile(
            f"the header needs {PREAMBLE_SIZE + length} bytes, the file has {len(data)}"
        )
    raw = bytes(data[PREAMBLE_SIZE : PREAMBLE_SIZE + length])
    if hashlib.sha256(raw).digest() != digest:
        raise HeaderChecksumMismatch("the header does not match its SHA-256: the file is damaged")
    return parse_header(raw), PREAMBLE_SIZE + length


@contextlib.contextmanager
def reading(path: str | Path) -> Iterator[Path]:
    """Reading the .thrifty file ``path``: it must be a file, not empty, and a format error
    raised inside names it and says what that means (its class stays, for callers that tell
    the errors apart)."""
    path = existing_file(path, "a .thrifty file")
    try:
        if path.stat().st_size == 0:
            raise TruncatedFile("it is empty")
        yield path
    except (PackFormatError, CorruptModel, UnsafeModel) as error:
        error.args = (f"{path} {_meaning(error)}: {error}",)
        raise


def _meaning(error: Exception) -> str:
    if isinstance(error, NotAThriftyFile):
        return "is not a .thrifty file"
    if isinstance(error, UnsupportedVersion):
        return "is from a newer thrifty, or corrupt"
    if isinstance(error, UnsafeModel):
        return "is unsafe to load"
    return "is truncated or corrupt"


def read_pack(path: str | Path) -> Packed:
    """Check and decode a whole .thrifty file."""
    with reading(path):
        with open(path, "rb") as handle:
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            return decode(memoryview(mapped))
        finally:
            # On an error, the traceback's frames still hold views of the mapping (body,
            # records), and close() would raise BufferError over the real error; the mapping
            # then goes with the last of those views instead.
            with contextlib.suppress(BufferError):
                mapped.close()


def decode(data: memoryview | bytes) -> Packed:
    header, start = read_header(data)
    body = data[start:]
    if hashlib.sha256(body).hexdigest() != header["body_sha256"]:
        raise RecordChecksumMismatch("the records do not match body_sha256: the file is damaged")
    proto = _graph(header["graph"], _record(body, header["graph"], "graph"))
    arrays = {
        entry["name"]: decode_tensor(entry, _record(body, entry, entry["name"]))
        for entry in header["tensors"]
    }
    _put_back(proto, header["tensors"], arrays)
    return Packed(header, proto, arrays, len(data))


def _record(body, entry: dict[str, Any], name: str):
    record = body[entry["offset"] : entry["offset"] + entry["length"]]
    if hashlib.sha256(record).hexdigest() != entry["sha256"]:
        raise RecordChecksumMismatch(f"record {name!r} does not match its SHA-256")
    return record


def _graph(spec: dict[str, Any], record):
    import onnx
    from google.protobuf.message import DecodeError

    from thrifty.models.onnx_file import external_tensors

    raw = bytes(record)
    if spec["coder"] == "zstd":
        raw = np.ascontiguousarray(
            CODERS["zstd"].decode(raw, spec["size"], BYTES), np.uint8
        ).tobytes()
    proto = onnx.ModelProto()
    try:
        proto.ParseFromString(raw)
    except DecodeError as error:
        raise CorruptStream("the graph record is not an ONNX model") from error
    if any(True for _ in external_tensors(proto)):
        raise UnsafeModel("the packed graph points at external data; a .thrifty file is whole")
    return proto


def _put_back(proto, entries, arrays) -> None:
    import onnx
    from onnx import numpy_helper

    proto.graph.initializer.extend(
        numpy_helper.from_array(arrays[entry["name"]], entry["name"]) for entry in entries
    )
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as error:
        raise CorruptModel(f"the unpacked model fails the ONNX checker: {error}") from error
    except UnicodeDecodeError as error:  # the checker's message quotes a name that is not UTF-8
        raise CorruptModel(
            "the unpacked model fails the ONNX checker on a non-UTF-8 name"
        ) from error
