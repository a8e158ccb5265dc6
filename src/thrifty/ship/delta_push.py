"""Making deltas at push (docs/STORE.md, "Deltas"): for every tensor record that changed a little
since the base version, a delta object a receiver holding the base can rebuild it from.

The base is the version the receivers most likely have: by default the one the ``latest`` tag
pointed at before this push. Its records are read from the store (the pusher need not have the
old file), each checked against its address before it is decoded.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from thrifty.errors import ChunkMismatch, PackFormatError, StoreError
from thrifty.pack.reader import read_plan
from thrifty.ship.chunking import Cut, record_chunks
from thrifty.ship.delta import encode_delta
from thrifty.ship.digest import blake3_hex
from thrifty.ship.layout import DEFAULT_TAG, Ref, chunk_path
from thrifty.ship.manifest import MAX_CHUNK_BYTES, Chunk, Delta, Manifest
from thrifty.ship.store import Store, resolve

KEEP = 0.9  # a delta is kept only under this share of its record's bytes: smaller savings are
# not worth a second object to store and a rebuild to run


@dataclass(frozen=True)
class Made:
    """A delta made at push: its manifest entry, its bytes, and the record bytes it stands for."""

    delta: Delta
    data: bytes
    record_bytes: int


def base_version(store: Store, name: str, delta_from: str | None) -> Manifest | None:
    """The manifest deltas are made against: ``delta_from`` (``name@version``, or a version or
    tag of ``name``), or by default the one ``name@latest`` points at, if any."""
    if delta_from is None:
        try:
            return resolve(store, name, DEFAULT_TAG)
        except StoreError:  # no latest yet, or one this thrifty cannot read: no deltas
            return None
    ref = Ref.parse(delta_from if "@" in delta_from else f"{name}@{delta_from}")
    return resolve(store, ref.name, ref.version)


def make_deltas(
    store: Store, data: memoryview, cut: Cut, base: Manifest, jobs: int | None
) -> list[Made]:
    """A delta for every record of ``data`` (the file ``cut`` describes) that changed from the
    same tensor in ``base`` and whose delta is under KEEP of its bytes."""
    records = ("thrifty-records", "thrifty-records")
    if (cut.chunking, base.chunking) != records or not base.chunks or base.sha256 == cut.sha256:
        return []
    try:
        old_header, old_body = read_plan(_read(store, base.chunks[0]))
    except (StoreError, PackFormatError):  # a base we cannot read gives no deltas, not an error
        return []
    new_header, new_body = read_plan(data)
    chunks = tuple(piece.chunk for piece in cut.pieces)
    old = record_chunks(old_header, old_body, base.chunks)
    new = record_chunks(new_header, new_body, chunks)
    occurs = Counter(chunk.sha256 for chunk in chunks)
    in_base = {chunk.sha256 for chunk in base.chunks}
    wanted = [
        (entry, indices, *old[name])
        for name, (entry, indices) in new.items()
        if name in old
        and (entry["dtype"], entry["shape"]) == (old[name][0]["dtype"], old[name][0]["shape"])
        and entry["sha256"] != old[name][0]["sha256"]
        and all(occurs[chunks[i].sha256] == 1 and chunks[i].sha256 not in in_base for i in indices)
    ]

    def make(job) -> Made | None:
        entry, indices, old_entry, old_indices = job
        start = cut.pieces[indices[0]].offset
        record = bytes(data[start : start + entry["length"]])
        try:
            pieces = [(base.chunks[i], _read(store, base.chunks[i])) for i in old_indices]
            base_record = b"".join(piece for _, piece in pieces)
            if hashlib.sha256(base_record).hexdigest() != old_entry["sha256"]:
                return None
            delta = encode_delta(old_entry, base_record, entry, record)
        except (StoreError, PackFormatError):
            return None
        if len(delta) >= KEEP * len(record) or len(delta) > MAX_CHUNK_BYTES:
            return None
        address = hashlib.sha256(delta).hexdigest()
        based = tuple(Chunk(c.sha256, c.size, blake3_hex(piece)) for c, piece in pieces)
        blob = Delta(tuple(indices), based, address, len(delta), blake3_hex(delta))
        return Made(blob, delta, len(record))

    with ThreadPoolExecutor(jobs or min(8, os.cpu_count() or 1)) as pool:
        return [made for made in pool.map(make, wanted) if made is not None]


def _read(store: Store, chunk: Chunk) -> bytes:
    """A chunk of the base from the store, checked against its address."""
    data = store.read(chunk_path(chunk.sha256))
    if len(data) != chunk.size or hashlib.sha256(data).hexdigest() != chunk.sha256:
        raise ChunkMismatch(f"chunk {chunk.sha256[:12]}… in {store.url} is damaged")
    return data
