"""Using deltas at pull (docs/STORE.md, "Deltas"): a record whose base record the local cache
holds is rebuilt from its small delta object instead of fetched.

Whatever goes wrong on the way (the base gone from the cache, the delta object missing, damaged
or not rebuilding the record's chunks exactly) falls back to fetching the record's chunks as any
pull does: a delta can only save bytes, never cost correctness. Every rebuilt chunk is checked
against the manifest's digest, like a fetched one, before it is put in place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from thrifty.errors import PackFormatError, StoreError
from thrifty.pack.reader import read_plan
from thrifty.ship.assembly import Assembly
from thrifty.ship.cache import Cache
from thrifty.ship.chunking import record_chunks
from thrifty.ship.delta import apply_delta
from thrifty.ship.digest import holds
from thrifty.ship.layout import chunk_path
from thrifty.ship.manifest import Chunk, Delta, Manifest
from thrifty.ship.progress import Tally
from thrifty.ship.store import Store


class DeltaPull:
    """The deltas of one pull; ``use`` runs from the pull's threads, one delta each."""

    def __init__(self, store: Store, cache: Cache, assembly: Assembly, count: Tally):
        self.store, self.cache, self.assembly, self.count = store, cache, assembly, count
        self.manifest: Manifest = assembly.manifest
        self.entries = self._plan()

    def _plan(self) -> dict[tuple[int, ...], dict[str, Any]]:
        """Each tensor record's header entry by its chunks' indices, from the file's header
        (its first chunk, which the pull has put in place): the encoding a rebuild follows."""
        try:
            header, body = read_plan(self.assembly.read(self.manifest.chunks[0]))
        except PackFormatError:
            return {}  # the chunks then fail too, and the pull says so
        records = record_chunks(header, body, self.manifest.chunks)
        return {tuple(indices): entry for entry, indices in records.values()}

    def use(self, delta: Delta, get: Callable[[Chunk], None]) -> None:
        """Put the delta's target chunks in place: from an earlier run or the cache if they
        are there, rebuilt from the delta if that is fewer bytes to move, fetched otherwise."""
        pending = []
        for index in delta.chunks:
            chunk = self.manifest.chunks[index]
            if chunk.sha256 in self.assembly.done:
                self.count.add(saved=chunk.size)
            elif (data := self.cache.find(chunk)) is not None:
                self.assembly.put(chunk, data)
                self.count.add(saved=chunk.size)
            else:
                pending.append(chunk)
        if pending and not (
            delta.size < sum(c.size for c in pending) and self._rebuild(delta, pending)
        ):
            for chunk in pending:
                get(chunk)

    def _rebuild(self, delta: Delta, pending: list[Chunk]) -> bool:
        entry = self.entries.get(delta.chunks)
        base = [self.cache.find(chunk) for chunk in delta.base]
        if entry is None or any(piece is None for piece in base):
            return False  # not a record of this file, or the receiver lacks the base
        try:
            data = self.store.read(chunk_path(delta.sha256))
        except StoreError:
            return False
        self.count.add(moved=len(data))
        if not holds(delta.object(), data):
            return False
        try:
            record = apply_delta(entry, data, b"".join(base))
        except Exception:  # noqa: BLE001  any failure of a delta means: fetch the record instead
            return False
        pieces, offset = {}, 0
        for index in delta.chunks:
            chunk = self.manifest.chunks[index]
            pieces[chunk.sha256] = record[offset : offset + chunk.size]
            offset += chunk.size
            if not holds(chunk, pieces[chunk.sha256]):
                return False
        for chunk in pending:
            self.assembly.put(chunk, pieces[chunk.sha256])
        spared = sum(chunk.size for chunk in pending) - len(data)
        self.count.add(saved=spared, by_deltas=spared, records=1)
        return True
