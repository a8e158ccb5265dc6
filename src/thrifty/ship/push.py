"""Push: upload the chunks a store lacks and the deltas from the base version, then the
manifest, then the tag (docs/STORE.md)."""

from __future__ import annotations

import mmap
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from thrifty.errors import NotInStore, StoreError, VersionExists
from thrifty.paths import existing_file
from thrifty.ship.chunking import Cut, Piece, cut_file
from thrifty.ship.delta_push import Made, base_version, make_deltas
from thrifty.ship.layout import DEFAULT_TAG, check_name, chunk_path, manifest_path, tag_path
from thrifty.ship.manifest import Manifest
from thrifty.ship.progress import tally
from thrifty.ship.store import Store, open_store


@dataclass(frozen=True)
class Pushed:
    """What a push did: the manifest it published, and the bytes it moved and saved."""

    manifest: Manifest
    moved_bytes: int  # chunk and delta bytes uploaded
    saved_bytes: int  # chunk bytes the store had already (or repeated in the file)
    manifest_bytes: int
    deltas: int = 0  # records a receiver holding the base version can rebuild from a delta
    delta_bytes: int = 0  # the deltas' bytes, all of them (uploaded or already there)
    delta_saved_bytes: int = 0  # what they spare such a receiver: records' bytes - deltas'


def push(
    file: str | Path,
    store: str | Path | Store,
    name: str,
    *,
    tag: str | None = DEFAULT_TAG,
    delta_from: str | None = None,
    deltas: bool = True,
    jobs: int | None = None,
    progress: bool = False,
) -> Pushed:
    """Publish ``file`` as ``name@version`` (``name`` alone: the version is the first 12 hex
    digits of the file's SHA-256) in ``store``, and point ``tag`` at it.

    With ``deltas``, every tensor record that changed a little since the base version also gets
    a delta (docs/STORE.md, Deltas): a receiver that pulled the base fetches it instead of the
    record. The base is ``delta_from`` (``name@version``, or a version or tag of this name),
    by default the version ``latest`` pointed at before this push.

    >>> th.push("model.thrifty", "s3://bucket/models", "fashion@2")  # doctest: +SKIP
    """
    path = existing_file(file, "the file to push (a .thrifty file is best)", StoreError)
    store = open_store(store) if isinstance(store, str | Path) else store
    base, _, version = name.partition("@")
    check_name(base)
    if tag is not None:
        check_name(tag, "tag")
    cut = cut_file(path)
    version = check_name(version or cut.sha256[:12], "version")
    chunks = tuple(p.chunk for p in cut.pieces)
    manifest = Manifest(
        base, version, cut.size, cut.sha256, cut.chunking, chunks, blake3=cut.blake3
    )
    origin = base_version(store, base, delta_from) if deltas else None
    published = _published(store, manifest)
    made: list[Made] = []
    if published is None:
        if origin is not None and cut.size:
            with (
                path.open("rb") as handle,
                mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data,
            ):
                made = make_deltas(store, memoryview(data), cut, origin, jobs)
            manifest = replace(manifest, deltas=tuple(m.delta for m in made))
        moved, saved = _upload_chunks(store, path, cut, jobs, progress)
        moved += _upload_deltas(store, made)
        data = manifest.to_bytes()
        store.write(manifest_path(base, version), data)  # last: now the version exists
    else:
        moved, saved, data, manifest = 0, cut.size, b"", published
    if tag is not None:
        store.write(tag_path(base, tag), f'{{"version": "{version}"}}\n'.encode())
    delta_bytes = sum(len(m.data) for m in made)
    saved_by_deltas = sum(m.record_bytes for m in made) - delta_bytes
    return Pushed(manifest, moved, saved, len(data), len(made), delta_bytes, saved_by_deltas)


def _upload_deltas(store: Store, made: list[Made]) -> int:
    """Upload the delta objects the store lacks (beside the chunks); return the bytes moved."""
    moved = 0
    for delta in made:
        address = chunk_path(delta.delta.sha256)
        if not store.exists(address):
            store.write(address, delta.data)
            moved += len(delta.data)
    return moved


def _published(store: Store, manifest: Manifest) -> Manifest | None:
    """The manifest already in the store for the same file, None when there is none; other
    bytes under the same name@version are VersionExists."""
    try:
        existing = Manifest.from_bytes(store.read(manifest_path(manifest.name, manifest.version)))
    except NotInStore:
        return None
    if existing.sha256 != manifest.sha256:
        raise VersionExists(
            f"{manifest.name}@{manifest.version} already holds other bytes in {store.url}: "
            "versions never change; push under a new version"
        )
    return existing


def _upload_chunks(store: Store, path: Path, cut: Cut, jobs: int, progress: bool):
    """Upload each distinct chunk the store lacks, in parallel; return (moved, saved) bytes."""
    first: dict[str, Piece] = {}
    for piece in cut.pieces:
        first.setdefault(piece.chunk.sha256, piece)
    if not first:  # an empty file has no chunks (and cannot be memory-mapped)
        return 0, 0
    with (
        path.open("rb") as handle,
        mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data,
        tally(f"push {path.name}", cut.size, progress) as count,
    ):
        count.add(saved=cut.size - sum(p.chunk.size for p in first.values()))  # repeats

        def upload(piece: Piece) -> None:
            address = chunk_path(piece.chunk.sha256)
            if store.exists(address):
                count.add(saved=piece.chunk.size)
                return
            store.write(address, data[piece.offset : piece.offset + piece.chunk.size])
            count.add(moved=piece.chunk.size)

        with ThreadPoolExecutor(jobs or min(8, 2 * (os.cpu_count() or 1))) as pool:
            list(pool.map(upload, first.values()))
        return count.moved, count.saved
