"""Regenerate tests/pack/hostile/: small .thrifty files, each breaking one rule of docs/FORMAT.md.

Every file starts from one small real model packed by ``write_pack``. A case edits its preamble,
header JSON or records, then re-hashes everything the broken rule is not about (the header's
SHA-256, each record's, ``body_sha256``), so the file gets past every other check and reaches the
one it targets. ``EXPECTED.json`` maps each file to the error class it must raise.

    .venv/bin/python tests/pack/make_hostile.py           # rewrites tests/pack/hostile/
    .venv/bin/python tests/pack/make_hostile.py OUT_DIR   # writes elsewhere (the tests compare)

The output is deterministic: the libraries that code the records are pinned in pyproject.toml.
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
CASES: dict[str, tuple[str, Callable[[Pack], bytes]]] = {}


def base_model():
    """Six weights that take every layout and coder a reader decodes: raw, zstd, codebook,
    bitpack, rans, sparse by bitmask and by gaps."""
    import onnx
    from onnx import helper, numpy_helper

    rng = np.random.default_rng(0)
    gaps = np.zeros(1000, np.int16)
    gaps[[3, 500, 998]] = [7, -7, 1]
    weights = {
        "w.dense": np.array([1, 2, 3, 4], np.float32),
        "w.mask": rng.choice(4, 256, p=[0.7, 0.2, 0.05, 0.05]).astype(np.uint8),
        "w.gaps": gaps,
        "w.codebook": np.array([0.5, -1.5, 2.0, 0.25], np.float32)[rng.integers(0, 4, 200)],
        "w.bitmask": np.where(rng.random(600) < 0.2, rng.standard_normal(600), 0).astype("f2"),
        "w.zstd": np.tile(np.arange(64, dtype=np.uint8), 8),
    }
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4])
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w.dense"], ["y"])],
        "base",
        [x],
        [y],
        [numpy_helper.from_array(array, name) for name, array in weights.items()],
    )
    opsets = [helper.make_opsetid("", 17)]
    return helper.make_model(graph, ir_version=9, opset_imports=opsets, producer_name="hostile")


@dataclass
class Pack:
    """A packed file taken apart: its header, graph record, and tensor records by name."""

    header: dict
    graph: bytes
    records: dict[str, bytes]

    def tensor(self, name: str) -> dict:
        return next(t for t in self.header["tensors"] if t["name"] == name)

    def put(self, name: str, record: bytes, **fields) -> dict:
        """Replace a tensor's record and header fields; the entry's length follows the record."""
        entry = self.tensor(name)
        entry.update(fields, length=len(record))
        self.records[name] = record
        return entry

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

    def cut(entry):
        return body[entry["offset"] : entry["offset"] + entry["length"]]

    records = {t["name"]: cut(t) for t in header["tensors"]}
    return Pack(header, cut(header["graph"]), records)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rehash(header: dict, body: bytes) -> None:
    """Every record's sha256 (where it lies inside the body) and body_sha256, recomputed."""
    for entry in [header["graph"], *header["tensors"]]:
        if entry["offset"] + entry["length"] <= len(body):
            entry["sha256"] = sha(body[entry["offset"] : entry["offset"] + entry["length"]])
    header["body_sha256"] = sha(body)


def text(header: dict) -> bytes:
    return json.dumps(header, separators=(",", ":")).encode("utf-8")


def seal(header, body, *, raw=None, magic=MAGIC, version=VERSION, flags=0, length=None) -> bytes:
    """Preamble (with the header's true SHA-256), header, body."""
    raw = text(header) if raw is None else raw
    length = len(raw) if length is None else length
    return PREAMBLE.pack(magic, version, flags, length, hashlib.sha256(raw).digest()) + raw + body


def case(name: str, error: str):
    def register(build: Callable[[Pack], bytes]):
        CASES[f"{name}.thrifty"] = (error, build)
        return build

    return register


def header_case(name: str, error: str, edit: Callable[[dict], object]) -> None:
    """A case that edits the header only, after the records are laid out and hashed."""

    def build(p: Pack) -> bytes:
        body = p.body()
        edit(p.header)
        return seal(p.header, body)

    CASES[f"{name}.thrifty"] = (error, build)


def raw_case(name: str, error: str, edit: Callable[[bytes], bytes]) -> None:
    """A case that edits the header's JSON text, then gives the preamble its true SHA-256."""

    def build(p: Pack) -> bytes:
        body = p.body()
        return seal(p.header, body, raw=edit(text(p.header)))

    CASES[f"{name}.thrifty"] = (error, build)


def generate(folder: Path) -> dict[str, str]:
    """Write every case and EXPECTED.json into ``folder``; return {file name: error class}."""
    folder.mkdir(parents=True, exist_ok=True)
    pristine, expected = base(), {}
    for name, (error, build) in sorted(CASES.items()):
        data = build(copy.deepcopy(pristine))
        assert len(data) < 4096, f"{name} is {len(data)} bytes"
        (folder / name).write_bytes(data)
        expected[name] = error
    (folder / "EXPECTED.json").write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n")
    return expected


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else FOLDER
    print(f"{len(generate(out))} hostile files in {out}")
