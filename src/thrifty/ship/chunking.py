"""Cutting a file into chunks (docs/STORE.md, "Chunking").

A .thrifty file is cut where its records begin and end, so an unchanged tensor, whose record
pack writes byte for byte the same, is the same chunk in every version. Any other file is cut
by content (FastCDC), so an edit moves only the chunks around it.
"""

from __future__ import annotations

import hashlib
import mmap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thrifty.pack.format import MAGIC
from thrifty.pack.header import check_records
from thrifty.pack.reader import read_header, reading
from thrifty.ship.digest import blake3_hex
from thrifty.ship.manifest import Chunk

RECORD_SPLIT = 4 * 2**20  # records larger than this are cut every RECORD_SPLIT bytes
CDC_AVERAGE, CDC_MIN, CDC_MAX = 64 * 2**10, 16 * 2**10, 256 * 2**10


@dataclass(frozen=True)
class Piece:
    """One chunk of a file: where it lies, and its address."""

    offset: int
    chunk: Chunk


@dataclass(frozen=True)
class Cut:
    """A file cut into chunks: the pieces in order, the whole file's digests, and how."""

    pieces: tuple[Piece, ...]
    size: int
    sha256: str
    blake3: str
    chunking: str


def cut_file(path: Path) -> Cut:
    """Cut ``path`` into chunks and hash each, reading the file once through a memory map."""
    with path.open("rb") as handle:
        size = path.stat().st_size
        if size == 0:
            return Cut((), 0, hashlib.sha256().hexdigest(), blake3_hex(b""), "fastcdc")
        with reading(path), mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            view = memoryview(data)
            try:
                thrifty = bytes(view[: len(MAGIC)]) == MAGIC
                chunking = "thrifty-records" if thrifty else "fastcdc"
                bounds = _record_bounds(view) if thrifty else _content_bounds(view)
                pieces = tuple(_piece(view, start, end) for start, end in bounds)
                sha256, blake3 = hashlib.sha256(view).hexdigest(), blake3_hex(view)
            finally:
                view.release()
    return Cut(pieces, size, sha256, blake3, chunking)


def _piece(view: memoryview, start: int, end: int) -> Piece:
    data = view[start:end]
    return Piece(start, Chunk(hashlib.sha256(data).hexdigest(), end - start, blake3_hex(data)))


def _record_bounds(data: memoryview) -> Iterator[tuple[int, int]]:
    """The preamble and header, then each record in file order, large ones split."""
    header, body = read_header(data)  # a damaged header is a PackFormatError; reading names it
    yield 0, body
    for offset, length, _name in check_records(header, len(data) - body):
        start = body + offset
        for piece in range(start, start + length, RECORD_SPLIT):
            yield piece, min(piece + RECORD_SPLIT, start + length)


def _content_bounds(data: memoryview) -> Iterator[tuple[int, int]]:
    from pyfastcdc import FastCDC

    chunker = FastCDC(CDC_AVERAGE, min_size=CDC_MIN, max_size=CDC_MAX, normalized_chunking=1)
    for chunk in chunker.cut_buf(data):
        yield chunk.offset, chunk.offset + chunk.length


def record_chunks(
    header: dict[str, Any], body: int, chunks: tuple[Chunk, ...]
) -> dict[str, tuple[dict[str, Any], list[int]]]:
    """Every non-empty tensor record: its header entry and the indices of the chunks that are
    exactly its bytes (records start and end at chunk boundaries: docs/STORE.md, Chunking)."""
    starts, offset = {}, 0
    for index, chunk in enumerate(chunks):
        starts[offset] = index
        offset += chunk.size
    found = {}
    for entry in header["tensors"]:
        first = starts.get(body + entry["offset"])
        if first is None or entry["length"] == 0:
            continue
        indices, size = [], 0
        while size < entry["length"] and first + len(indices) < len(chunks):
            size += chunks[first + len(indices)].size
            indices.append(first + len(indices))
        if size == entry["length"]:
            found[entry["name"]] = (entry, indices)
    return found
