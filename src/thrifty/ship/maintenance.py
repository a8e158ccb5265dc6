"""Listing a store's versions, and removing the chunks and delta objects no manifest names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from thrifty.ship.layout import chunk_path
from thrifty.ship.manifest import Manifest
from thrifty.ship.store import Store, open_store


@dataclass(frozen=True)
class Version:
    manifest: Manifest
    tags: tuple[str, ...]


def list_versions(store: str | Path | Store) -> list[Version]:
    """Every name@version in the store, with the tags that point at it, sorted by name."""
    store = open_store(store) if isinstance(store, str | Path) else store
    manifests, tags = store.listing()
    return [
        Version(m, tuple(sorted(t for (n, t), v in tags.items() if (n, v) == (m.name, m.version))))
        for m in sorted(manifests, key=lambda m: (m.name, m.created, m.version))
    ]


@dataclass(frozen=True)
class Collected:
    chunks: int
    bytes: int


def collect_garbage(store: str | Path | Store) -> Collected:
    """Remove every chunk and delta object that no manifest names (never a manifest or a tag).
    Refuses to run when a manifest does not parse, since its objects could not be told apart."""
    store = open_store(store) if isinstance(store, str | Path) else store
    manifests, _ = store.listing(strict=True)
    named = {sha256 for m in manifests for sha256 in m.objects()}
    unnamed = {sha: size for sha, size in store.chunks().items() if sha not in named}
    for sha256 in sorted(unnamed):
        store.delete(chunk_path(sha256))
    return Collected(len(unnamed), sum(unnamed.values()))
