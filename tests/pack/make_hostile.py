"""Regenerate tests/pack/hostile/: small .thrifty files, each breaking one rule of docs/FORMAT.md.

Each file is one small real model packed by ``write_pack``, its preamble, header JSON or records
edited, then everything the broken rule is not about re-hashed (header, records, body), so the
file passes every other check and reaches its own. EXPECTED.json maps files to error classes.
Deterministic (the coders' libraries are pinned): ``python tests/pack/make_hostile.py [OUT_DIR]``
rewrites tests/pack/hostile/ (or writes OUT_DIR, which the tests compare with the folder).
"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from thrifty.pack.coders import CODERS, encode_stream
from thrifty.pack.format import MAGIC, MAX_HEADER_BYTES, PREAMBLE, VERSION

FOLDER = Path(__file__).parent / "hostile"


def base_model():
    """Six weights in every layout and coder: raw, zstd, codebook, bitpack, rans, enumerative,
    bitmask, gaps."""
    import onnx
    from onnx import helper, numpy_helper

    rng = np.random.default_rng(0)
    every_8th = np.zeros(2400, np.float16)  # regular positions: gaps, of one repeated symbol
    every_8th[7::8] = rng.standard_normal(300)  # about 290 distinct values: no codebook
    weights = {
        "w.dense": np.array([1, 2, 3, 4], np.float32),
        "w.mask": rng.choice(4, 256, p=[0.7, 0.2, 0.05, 0.05]).astype(np.uint8),
        "w.gaps": every_8th,
        "w.codebook": np.array([0.5, -1.5, 2.0, 0.25], np.float32)[rng.integers(0, 4, 203)],
        "w.bitmask": np.where(rng.random(4800) < 0.02, rng.standard_normal(4800), 0).astype("f2"),
        "w.zstd": np.tile(np.arange(64, dtype=np.uint8), 8),
    }
    x, y = (helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, [1, 4]) for name in "xy")
    initializers = [numpy_helper.from_array(array, name) for name, array in weights.items()]
    node = helper.make_node("Add", ["x", "w.dense"], ["y"])
    graph = helper.make_graph([node], "base", [x], [y], initializers, "hostile " * 8)
    return helper.make_model(graph, ir_version=9, opset_imports=[helper.make_opsetid("", 17)])


@dataclass
class Pack:
    """A packed file taken apart: its header, graph record, and tensor records by name."""

    header: dict
    graph: bytes
    records: dict[str, bytes]

    def put(self, name: str, record: bytes, **fields) -> Pack:
        """Replace a tensor's record and header fields; the entry's length follows the record."""
        entry = next(t for t in self.header["tensors"] if t["name"] == name)
        entry.update(fields, length=len(record))
        self.records[name] = record
        return self

    def body(self) -> bytes:
        """The records back to back, graph first, with offsets, lengths and hashes filled in."""
        self.header["graph"].update(offset=0, length=len(self.graph))
        parts, offset = [self.graph], len(self.graph)
        for entry in self.header["tensors"]:
            record = self.records[entry["name"]]
            entry["offset"], offset = offset, offset + len(record)
            parts.append(record)
        body = b"".join(parts)
        rehash(self.header, body)
        return body

    def file(self, **preamble) -> bytes:
        return seal(self.header, self.body(), **preamble)


def base() -> Pack:
    from thrifty.pack.reader import read_header
    from thrifty.pack.writer import write_pack

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "base.thrifty"
        write_pack(base_model(), path, {"creator": "make_hostile"})
        data = path.read_bytes()
    header, start = read_header(data)
    body = data[start:]
    records = {t["name"]: body[t["offset"] :][: t["length"]] for t in header["tensors"]}
    return Pack(header, body[: header["graph"]["length"]], records)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rehash(header: dict, body: bytes) -> None:
    """Every record's sha256 (where it lies inside the body) and body_sha256, recomputed."""
    for entry in [header["graph"], *header["tensors"]]:
        if entry["offset"] + entry["length"] <= len(body):
            entry["sha256"] = sha(body[entry["offset"] :][: entry["length"]])
    header["body_sha256"] = sha(body)


def seal(header, body, *, text=None, magic=MAGIC, version=VERSION, flags=0, length=None) -> bytes:
    """Preamble (with the true SHA-256 of the header, or of ``text(its JSON)``), header, body."""
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw = text(raw) if text else raw
    length = len(raw) if length is None else length
    return PREAMBLE.pack(magic, version, flags, length, hashlib.sha256(raw).digest()) + raw + body


def on_body(edit, rehash_records=True):
    """A case (a function of a fresh base Pack to the file's bytes, like every combinator here):
    lay the records out, ``edit(body, header) -> body``, then re-hash the records (or not)."""

    def build(p):
        body = edit(p.body(), p.header)
        if rehash_records:
            rehash(p.header, body)
        return seal(p.header, body)

    return build


def at(*path, value=None):
    """A case that sets one header field, found by keys and indices."""

    def edit(body, field):
        for key in path[:-1]:
            field = field[key]
        field[path[-1]] = value
        return body

    return on_body(edit, rehash_records=False)


def on_text(edit):
    """Edit the header's JSON text; the preamble gets the edited text's true SHA-256."""
    return lambda p: seal(p.header, p.body(), text=edit)


def on_graph(edit=lambda model: None, old=b"", new=b""):
    """Replace the graph record (raw) by the bytes ``edit(model)`` returns, or else by the base
    model's graph (weights removed), edited by ``edit``, with ``old`` bytes replaced by ``new``."""

    def build(p):
        model = base_model()
        del model.graph.initializer[:]
        p.graph = edit(model) or model.SerializeToString().replace(old, new)
        p.header["graph"].update(coder="raw", size=len(p.graph))
        return p.file()

    return build


def external(model) -> None:
    tensor = model.graph.initializer.add(name="w.outside", data_type=1, dims=[4], data_location=1)
    tensor.external_data.add(key="location", value="../../../etc/passwd")  # 1: EXTERNAL


def flip(data: bytes, index: int, mask: int = 1) -> bytes:
    return data[:index] + bytes([data[index] ^ mask]) + data[index + 1 :]


def rec(name: str, edit, **fields):
    """Replace a tensor's record by ``edit(record)``, and update its header fields."""
    return lambda p: p.put(name, edit(p.records[name]), **fields).file()


def gap(body: bytes, header) -> bytes:
    for entry in header["tensors"]:
        entry["offset"] += 1  # one byte after the graph that no record covers
    return body[: header["graph"]["length"]] + b"\x00" + body[header["graph"]["length"] :]


def overlap(body: bytes, header) -> bytes:
    header["tensors"][0]["offset"] = header["graph"]["length"] - 1  # its last byte, shared
    return body


def bomb_all(body: bytes, header) -> bytes:
    for entry in header["tensors"]:  # 4 GiB each, allowed alone; 24 GiB in all
        entry.pop("positions", None)
        values = {"method": "raw", "coder": "zstd", "count": 2**30, "length": entry["length"]}
        entry.update(layout="dense", dtype="float32", shape=[2**30], values=values)
    return body


def enumerative_budget(body: bytes, header) -> bytes:
    """w.bitmask declares a bitmask of 2^19 + 1 enumerative symbols: too much work to decode."""
    entry = header["tensors"][4]
    entry["shape"] = [2**19 + 1]
    entry["positions"].update(coder="enumerative", count=2**19 + 1)
    return body


def alias(body: bytes, header) -> bytes:
    header["tensors"].append({**header["tensors"][0], "name": "w.alias"})  # the same bytes twice
    return body


MASK_SPEC, MASK = encode_stream((np.arange(2400) % 700 == 0).astype(np.uint8), 2)  # 4 ones
MASK += bytes(6)  # ... and 3 values
RAW_3 = {"method": "raw", "coder": "raw", "count": 3, "length": 6}
MASK_FIELDS = {"positions": {"method": "bitmask", **MASK_SPEC}, "values": RAW_3}
GAPS_SPEC, GAPS = encode_stream(np.array([3, 496, 2000]), 2001)  # indices 3, 500, 2501 of 2400
GAPS_POS = {"method": "gaps", **GAPS_SPEC}
INDEX_3 = CODERS["bitpack"].encode(np.full(256, 3), 4)  # w.mask: 256 indices of 2 bits, table 3
BITPACK_3 = {"method": "codebook", "table": 3, "table_length": 3, "coder": "bitpack"}
BITPACK_3.update(count=256, alphabet=3, length=len(INDEX_3))
RANS_1 = {"method": "codebook", "table": 1, "table_length": 4, "coder": "rans"}
RANS_1.update(count=4, alphabet=1, length=2)
TABLE_4 = b"\x00\x04"  # a rans table, dense form, counting 4 symbols; and no code
RANS_4097 = {"method": "gaps", "coder": "rans", "count": 300, "alphabet": 4097, "length": 5}
# zstd magic; single segment, 8-byte content size 2^40; one last raw block of one byte
ZSTD_BOMB = b"\x28\xb5\x2f\xfd\xe0" + (2**40).to_bytes(8, "little") + b"\x09\x00\x00\x00"
ZSTD_FIELDS = {"method": "raw", "coder": "zstd", "count": 512, "length": len(ZSTD_BOMB)}
NESTED = b'{"metadata":' + b"[" * 1200 + b"]" * 1200 + b"}"
OFFSET = b'"offset":0,'
CASES: list[tuple[str, str, Callable[[Pack], bytes]]] = [
    ("empty", "TruncatedFile", lambda p: b""),
    ("truncated-preamble", "TruncatedFile", lambda p: p.file()[:47]),
    ("truncated-header", "TruncatedFile", lambda p: p.file()[:100]),
    ("bad-magic", "NotAThriftyFile", lambda p: p.file(magic=b"THRIFTX\x00")),
    ("version-2", "UnsupportedVersion", lambda p: p.file(version=2)),
    ("flags-set", "UnsupportedVersion", lambda p: p.file(flags=0x8000)),
    ("header-too-large", "HeaderTooLarge", lambda p: p.file(length=MAX_HEADER_BYTES + 1)),
    ("header-length-1", "HeaderTooLarge", on_text(lambda raw: b"{")),
    ("header-checksum", "HeaderChecksumMismatch", lambda p: flip(p.file(), 16)),
    ("header-not-utf8", "HeaderNotUtf8", on_text(lambda r: r.replace(b"make_", b"make\xff"))),
    ("header-overlong-utf8", "HeaderNotUtf8", on_text(lambda r: r.replace(b"e_", b"e\xc0\xaf"))),
    ("lone-surrogate", "HeaderNotUtf8", on_text(lambda r: r.replace(b"w.dense", b"w\\ud800"))),
    ("header-not-json", "HeaderNotJson", on_text(lambda raw: raw[:-1])),
    ("header-array", "HeaderNotJson", on_text(lambda raw: b"[" + raw + b"]")),
    ("header-nan", "HeaderNotJson", on_text(lambda r: r.replace(b'"make_hostile"', b"NaN"))),
    ("header-nested", "HeaderNotJson", on_text(lambda raw: NESTED)),
    ("duplicate-key", "DuplicateKey", on_text(lambda raw: raw[:-1] + b',"version":1}')),
    ("duplicate-key-nested", "DuplicateKey", on_text(lambda r: r.replace(OFFSET, OFFSET * 2, 1))),
    ("unknown-key", "InvalidHeader", at("signature", value="0" * 64)),
    ("missing-key", "InvalidHeader", on_text(lambda r: r.replace(b'"format":"thrifty",', b""))),
    ("header-version-2", "InvalidHeader", at("version", value=2)),
    ("metadata-not-object", "InvalidHeader", at("metadata", value=["creator"])),
    ("sha256-not-hex", "InvalidHeader", at("body_sha256", value="Z" * 64)),
    ("graph-unknown-coder", "InvalidHeader", at("graph", "coder", value="gzip")),
    ("graph-raw-size-mismatch", "InvalidHeader", at("graph", "coder", value="raw")),
    ("bomb-graph", "DecodedSizeTooLarge", at("graph", "size", value=256 * 2**20 + 1)),
    ("tensors-not-list", "InvalidHeader", at("tensors", value={})),
    ("duplicate-tensor-name", "InvalidHeader", at("tensors", 3, "name", value="w.dense")),
    ("empty-tensor-name", "InvalidHeader", at("tensors", 0, "name", value="")),
    ("unknown-dtype", "InvalidHeader", at("tensors", 0, "dtype", value="float8")),
    ("dtype-not-string", "InvalidHeader", at("tensors", 0, "dtype", value=["float32"])),
    ("stream-coder-not-string", "InvalidHeader", at("tensors", 3, "values", "coder", value=[])),
    ("too-many-dims", "InvalidHeader", at("tensors", 0, "shape", value=[1] * 16 + [4])),
    ("negative-dim", "InvalidHeader", at("tensors", 0, "shape", value=[-1, -4])),
    ("bool-as-int", "InvalidHeader", at("tensors", 0, "shape", value=[True, 4])),
    ("float-dim", "InvalidHeader", at("tensors", 0, "shape", value=[4.0])),
    ("negative-offset", "InvalidHeader", at("tensors", 0, "offset", value=-1)),
    ("shape-overflow", "ShapeOverflow", at("tensors", 0, "shape", value=[2**32, 2**32])),
    ("bomb-tensor", "DecodedSizeTooLarge", at("tensors", 0, "shape", value=[2**30 + 1])),
    ("bomb-total", "DecodedSizeTooLarge", on_body(bomb_all)),
    ("unknown-layout", "InvalidHeader", at("tensors", 0, "layout", value="diagonal")),
    ("dense-count-mismatch", "InvalidHeader", at("tensors", 3, "values", "count", value=199)),
    ("stream-lengths-mismatch", "InvalidHeader", at("tensors", 2, "positions", "length", value=6)),
    ("sparse-more-values", "InvalidHeader", at("tensors", 2, "positions", "count", value=1001)),
    ("codebook-table-257", "InvalidHeader", at("tensors", 3, "values", "table", value=257)),
    ("unknown-stream-coder", "InvalidHeader", at("tensors", 3, "values", "coder", value="lzw")),
    ("rans-alphabet-4097", "InvalidHeader", at("tensors", 2, "positions", value=RANS_4097)),
    ("record-gap", "RecordGap", on_body(gap)),
    ("record-overlap", "RecordOverlap", on_body(overlap)),
    ("record-alias", "RecordOverlap", on_body(alias)),
    ("trailing-bytes", "TrailingBytes", on_body(lambda body, header: body + b"\x00")),
    ("truncated-records", "TruncatedFile", on_body(lambda body, header: body[:-1])),
    ("body-checksum", "RecordChecksumMismatch", at("body_sha256", value=sha(b""))),
    ("record-checksum", "RecordChecksumMismatch", at("tensors", 5, "sha256", value=sha(b""))),
    ("bitmask-count-mismatch", "CorruptStream", rec("w.gaps", lambda r: MASK, **MASK_FIELDS)),
    (
        "gaps-past-end",
        "CorruptStream",
        rec("w.gaps", lambda r: GAPS + r[-6:], positions=GAPS_POS, values=RAW_3),
    ),
    (
        "codebook-index-out-of-range",
        "CorruptStream",
        rec("w.mask", lambda r: r[:3] + INDEX_3, values=BITPACK_3),
    ),
    (
        "bitpack-padding-set",
        "CorruptStream",
        rec("w.codebook", lambda r: flip(r, len(r) - 1, 0x80)),
    ),
    ("rans-alphabet-1", "CorruptStream", rec("w.dense", lambda r: r[:4] + TABLE_4, values=RANS_1)),
    ("rans-table-count", "CorruptStream", rec("w.bitmask", lambda r: flip(r, 1))),
    ("enumerative-rank-past-end", "CorruptStream", rec("w.mask", lambda r: r[:-1] + b"\xff")),
    ("enumerative-budget", "DecodedSizeTooLarge", on_body(enumerative_budget)),
    ("zstd-bomb", "CorruptStream", rec("w.zstd", lambda r: ZSTD_BOMB, values=ZSTD_FIELDS)),
    ("graph-not-onnx", "CorruptStream", on_graph(lambda model: b"\x0a\xff\xff\xff\xff\x0f")),
    ("graph-external-data", "UnsafeModel", on_graph(external)),
    ("graph-fails-checker", "CorruptModel", on_graph(lambda m: m.graph.node[0].Clear())),
    ("graph-not-utf8", "CorruptModel", on_graph(old=b'"\x03Add', new=b'"\x03\xb2dd')),  # op_type
]


def generate(folder: Path) -> dict[str, str]:
    """Write every case and EXPECTED.json into ``folder``; return {file name: error class}."""
    folder.mkdir(parents=True, exist_ok=True)
    pristine, expected = base(), {}
    for name, error, build in CASES:
        data = build(copy.deepcopy(pristine))
        assert len(data) < 4096, f"{name} is {len(data)} bytes"
        (folder / f"{name}.thrifty").write_bytes(data)
        expected[f"{name}.thrifty"] = error
    assert len(expected) == len(CASES), "two cases share a name"
    (folder / "EXPECTED.json").write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n")
    return expected


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else FOLDER
    print(f"{len(generate(out))} hostile files in {out}")
