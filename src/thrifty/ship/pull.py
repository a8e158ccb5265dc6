"""Pull: take the chunks earlier pulls left, rebuild records from deltas where the cache holds
their base, fetch the rest in parallel straight into place, verify each, check the whole file,
publish it atomically (docs/STORE.md, Pull and Deltas)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from thrifty.errors import ChunkMismatch, ManifestError, TransferInterrupted
from thrifty.paths import writable_file
from thrifty.ship.assembly import Assembly
from thrifty.ship.cache import Cache
from thrifty.ship.delta_pull import DeltaPull
from thrifty.ship.digest import chunk_digest
from thrifty.ship.layout import Ref, chunk_path
from thrifty.ship.manifest import Chunk, Manifest
from thrifty.ship.progress import Tally, tally
from thrifty.ship.ranges import RangeRefused
from thrifty.ship.store import Store, open_store, resolve

ATTEMPTS = 3  # tries at one chunk (dropped connections resume; bad bytes start over)
SPAN = 2**20  # bytes asked for in one request: a killed pull loses at most jobs x SPAN in flight


@dataclass(frozen=True)
class Pulled:
    """What a pull did: the manifest, the file written, and the bytes moved and saved."""

    manifest: Manifest
    path: Path
    moved_bytes: int  # bytes that came over the wire, retries and delta objects included
    saved_bytes: int  # chunk bytes not fetched: earlier pulls, repeats, a resumed run, deltas
    delta_records: int = 0  # records rebuilt from a delta and their base in the cache
    delta_saved_bytes: int = 0  # those records' bytes less the deltas' (part of saved_bytes)


def pull(
    store: str | Path | Store,
    ref: str,
    dest: str | Path,
    *,
    cache: str | Path | Cache | None = None,
    jobs: int | None = None,
    progress: bool = False,
) -> Pulled:
    """Fetch ``ref`` (``name@version``, ``name@tag`` or ``name``) from ``store`` into ``dest``,
    ``jobs`` chunks at once (default: one per core, at most 8).

    >>> th.pull("s3://bucket/models", "fashion@2", "model.thrifty")  # doctest: +SKIP
    """
    dest = writable_file(dest)
    store = open_store(store) if isinstance(store, str | Path) else store
    cache = cache if isinstance(cache, Cache) else Cache(cache)
    wanted = Ref.parse(ref)
    manifest = resolve(store, wanted.name, wanted.version)
    dest.parent.mkdir(parents=True, exist_ok=True)
    assembly = Assembly(dest, manifest)
    distinct = list({c.sha256: c for c in manifest.chunks}.values())
    try:
        with tally(f"pull {manifest.name}@{manifest.version}", manifest.size, progress) as count:
            count.add(saved=manifest.size - sum(c.size for c in distinct))  # repeats

            def get(chunk: Chunk) -> None:
                if chunk.sha256 in assembly.done:
                    count.add(saved=chunk.size)
                elif (data := cache.find(chunk)) is not None:
                    assembly.put(chunk, data)
                    count.add(saved=chunk.size)
                else:
                    _fetch(store, assembly, chunk, count)

            jobs = jobs or min(8, os.cpu_count() or 1)  # more: no faster, each a span in flight
            with ThreadPoolExecutor(max(1, jobs) + 1) as pool:
                whole = pool.submit(assembly.matches_manifest)  # behind the fetches, in order
                try:
                    tasks = _tasks(store, cache, assembly, count, distinct, get)
                    list(pool.map(lambda task: task(), tasks))
                except BaseException:
                    assembly.abandon()
                    raise
                matches = whole.result()
        if not matches:
            assembly.discard()
            raise ManifestError(
                f"the chunks of {manifest.name}@{manifest.version} do not make up the file its "
                "manifest names (its digest differs); the manifest is wrong"
            )
        assembly.publish()
    finally:
        assembly.close()  # a failed pull keeps its journal and bytes for the next run
    cache.remember(manifest, dest)
    return Pulled(manifest, dest, count.moved, count.saved, count.records, count.by_deltas)


def _tasks(store, cache, assembly: Assembly, count: Tally, distinct: list[Chunk], get) -> list:
    """What the pull's threads run: one task per delta (its record's chunks), one per other
    chunk. With deltas, the file's header (its first chunk) is put in place first: each
    rebuild follows the encoding it names."""
    manifest = assembly.manifest
    if not manifest.deltas:
        return [partial(get, chunk) for chunk in distinct]
    header = manifest.chunks[0]
    get(header)
    deltas = DeltaPull(store, cache, assembly, count)
    targets = {manifest.chunks[i].sha256 for delta in manifest.deltas for i in delta.chunks}
    others = [c for c in distinct if c.sha256 not in targets and c.sha256 != header.sha256]
    return [partial(deltas.use, delta, get) for delta in manifest.deltas] + [
        partial(get, chunk) for chunk in others
    ]


def _fetch(store: Store, assembly: Assembly, chunk: Chunk, count: Tally) -> None:
    """Fetch one chunk into place, SPAN bytes a request, resuming what an earlier try or run
    wrote. A dropped connection resumes; bytes that fail the chunk's hash start over: ATTEMPTS
    tries in all."""
    credited = 0  # bytes of this chunk counted as saved: those an earlier run wrote
    for attempt in range(ATTEMPTS):
        held, etag, digest = assembly.held(chunk)
        count.add(saved=held - credited)
        credited = held
        try:
            while held < chunk.size:
                stop = held + SPAN if held + SPAN < chunk.size else None  # None: the rest
                with store.open_range(chunk_path(chunk.sha256), held, stop, etag) as body:
                    if body.start != held:  # the server sent the whole object: start over
                        count.add(saved=-credited)
                        held, credited, digest = 0, 0, chunk_digest(chunk)
                    etag = body.etag
                    for block in body.blocks:
                        if held + len(block) > chunk.size:
                            break
                        assembly.write(chunk, held, block, etag)
                        digest.update(block)
                        held += len(block)
                        count.add(moved=len(block))
                if held < (stop or chunk.size):
                    break  # the object ended early, or runs past the chunk: it is damaged
        except RangeRefused:
            assembly.restart(chunk)
            continue
        except TransferInterrupted:
            if attempt == ATTEMPTS - 1:
                raise
            continue
        if held == chunk.size and digest.matches():
            assembly.finish(chunk)
            return
        assembly.restart(chunk)
    raise ChunkMismatch(
        f"chunk {chunk.sha256[:12]}… from {store.url} failed its {digest.name} check "
        f"{ATTEMPTS} times: the store's copy is damaged; push the file again"
    )
