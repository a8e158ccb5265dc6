"""Pull: fetch the chunks the local cache lacks, verify each, and publish the file atomically."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from thrifty.atomic import write_atomic
from thrifty.errors import ChunkMismatch, ManifestError, TransferInterrupted
from thrifty.ship.cache import Cache
from thrifty.ship.layout import Ref, chunk_path
from thrifty.ship.manifest import Chunk, Manifest
from thrifty.ship.progress import tally
from thrifty.ship.store import Store, open_store, resolve

ATTEMPTS = 3  # fetches of one chunk before its bytes are declared bad
BLOCK = 4 * 2**20


@dataclass(frozen=True)
class Pulled:
    """What a pull did: the manifest, the file written, and the bytes moved and saved."""

    manifest: Manifest
    path: Path
    moved_bytes: int  # bytes that came over the wire, retries included
    saved_bytes: int  # chunk bytes taken from the local cache (or repeated in the file)


def pull(
    store: str | Path | Store,
    ref: str,
    dest: str | Path,
    *,
    cache: str | Path | Cache | None = None,
    jobs: int = 8,
    progress: bool = False,
) -> Pulled:
    """Fetch ``ref`` (``name@version``, ``name@tag`` or ``name``) from ``store`` into ``dest``.

    >>> th.pull("s3://bucket/models", "fashion@2", "model.thrifty")  # doctest: +SKIP
    """
    store = open_store(store) if isinstance(store, str | Path) else store
    cache = cache if isinstance(cache, Cache) else Cache(cache)
    wanted = Ref.parse(ref)
    manifest = resolve(store, wanted.name, wanted.version)
    distinct = list({c.sha256: c for c in manifest.chunks}.values())
    with tally(f"pull {manifest.name}@{manifest.version}", manifest.size, progress) as count:
        count.add(saved=manifest.size - sum(c.size for c in distinct))  # repeats

        def get(chunk: Chunk) -> None:
            if cache.has(chunk):
                count.add(saved=chunk.size)
            else:
                _fetch(store, cache, chunk, lambda n: count.add(moved=n))

        with ThreadPoolExecutor(max(1, jobs)) as pool:
            list(pool.map(get, distinct))
    dest = Path(dest)
    write_atomic(dest, _assembled(cache, manifest))
    return Pulled(manifest, dest, count.moved, count.saved)


def _fetch(store: Store, cache: Cache, chunk: Chunk, moved: Callable[[int], None]) -> None:
    """Fetch one chunk into the cache, resuming a partial one. A dropped connection resumes
    from the partial; bytes that fail their SHA-256 are dropped and fetched again: at most
    ATTEMPTS tries in all."""
    for attempt in range(ATTEMPTS):
        try:
            store.fetch(chunk_path(chunk.sha256), cache.partial(chunk.sha256), moved)
        except TransferInterrupted:
            if attempt == ATTEMPTS - 1:
                raise
            continue
        if cache.admit(chunk):
            return
    raise ChunkMismatch(
        f"chunk {chunk.sha256[:12]}… from {store.url} failed its SHA-256 check {ATTEMPTS} "
        "times: the store's copy is damaged; push the file again"
    )


def _assembled(cache: Cache, manifest: Manifest) -> Iterator[bytes]:
    """The file's bytes from the cache, in order; raises at the end, before the file is
    published, if they do not hash to the manifest's SHA-256."""
    digest = hashlib.sha256()
    for chunk in manifest.chunks:
        with cache.path(chunk.sha256).open("rb") as handle:
            while block := handle.read(BLOCK):
                digest.update(block)
                yield block
    if digest.hexdigest() != manifest.sha256:
        raise ManifestError(
            f"the chunks of {manifest.name}@{manifest.version} do not make up the file its "
            "manifest names (SHA-256 differs); the manifest is wrong"
        )
