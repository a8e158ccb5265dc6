"""Chunking: .thrifty files at record boundaries, anything else by content."""

from __future__ import annotations

import hashlib
from itertools import pairwise

import numpy as np

import thrifty.ship.chunking as chunking
from conftest import packed_model
from thrifty.pack.reader import read_header
from thrifty.ship.chunking import cut_file


def test_a_thrifty_file_is_cut_at_its_records(tmp_path):
    path = packed_model(tmp_path / "m.thrifty")
    data = path.read_bytes()
    cut = cut_file(path)
    header, body = read_header(data)
    records = sorted(
        [(header["graph"]["offset"], header["graph"]["length"])]
        + [(t["offset"], t["length"]) for t in header["tensors"]]
    )
    assert cut.chunking == "thrifty-records"
    assert [(p.offset, p.chunk.size) for p in cut.pieces] == [(0, body)] + [
        (body + offset, length) for offset, length in records
    ]
    assert b"".join(data[p.offset : p.offset + p.chunk.size] for p in cut.pieces) == data
    for piece in cut.pieces:
        chunk = data[piece.offset : piece.offset + piece.chunk.size]
        assert hashlib.sha256(chunk).hexdigest() == piece.chunk.sha256
    assert cut.sha256 == hashlib.sha256(data).hexdigest()


def test_an_unchanged_tensor_is_the_same_chunk_in_the_next_version(tmp_path):
    first = cut_file(packed_model(tmp_path / "v1.thrifty"))
    path = packed_model(tmp_path / "v2.thrifty", changed=("w3",))
    second = cut_file(path)
    old = {p.chunk for p in first.pieces}
    new = [p for p in second.pieces if p.chunk not in old]
    header, body = read_header(path.read_bytes())
    w3 = next(t for t in header["tensors"] if t["name"] == "w3")
    assert [(p.offset, p.chunk.size) for p in new] == [
        (0, body),  # the header, which holds every record's hash
        (body + w3["offset"], w3["length"]),
    ]


def test_a_large_record_is_split_at_a_fixed_size(tmp_path, monkeypatch):
    monkeypatch.setattr(chunking, "RECORD_SPLIT", 64 * 1024)
    path = packed_model(tmp_path / "m.thrifty")
    cut = cut_file(path)
    assert max(p.chunk.size for p in cut.pieces) == 64 * 1024
    assert sum(p.chunk.size for p in cut.pieces) == path.stat().st_size
    offsets = [p.offset for p in cut.pieces]
    assert offsets == sorted(offsets)
    assert all(a.offset + a.chunk.size == b.offset for a, b in pairwise(cut.pieces))


def test_other_files_are_cut_by_content_so_an_insertion_moves_few_chunks(tmp_path):
    data = np.random.default_rng(0).integers(0, 256, 2_000_000, dtype=np.uint8).tobytes()
    (tmp_path / "a.bin").write_bytes(data)
    (tmp_path / "b.bin").write_bytes(data[:1_000_000] + b"inserted" + data[1_000_000:])
    a, b = cut_file(tmp_path / "a.bin"), cut_file(tmp_path / "b.bin")
    assert a.chunking == "fastcdc"
    assert all(16 * 1024 <= p.chunk.size <= 256 * 1024 for p in a.pieces[:-1])
    new = {p.chunk for p in b.pieces} - {p.chunk for p in a.pieces}
    assert 1 <= len(new) <= 2
    assert sum(c.size for c in new) < 0.1 * len(data)


def test_an_empty_file_has_no_chunks(tmp_path):
    (tmp_path / "empty").write_bytes(b"")
    cut = cut_file(tmp_path / "empty")
    assert cut.pieces == () and cut.size == 0
    assert cut.sha256 == hashlib.sha256(b"").hexdigest()
