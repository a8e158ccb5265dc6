"""Listing: ``GET /list``, every manifest and tag in the store, so that ``ls`` and ``gc`` work
over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import HTTPException, Request
from pydantic import BaseModel

from thrifty.errors import ManifestError
from thrifty.ship.manifest import Manifest
from thrifty.ship.server.folder import Store, store_of
from thrifty.ship.server.writing import tag_version


class ManifestEntry(BaseModel):
    name: str
    version: str
    size: int
    sha256: str
    created: str


class TagEntry(BaseModel):
    name: str
    tag: str
    version: str


class Listing(BaseModel):
    manifests: list[ManifestEntry]
    tags: list[TagEntry]


def get_list(request: Request) -> Listing:
    """Every manifest and tag in the folder; files that do not parse are left out."""
    store = store_of(request)
    return Listing(manifests=list(_manifests(store)), tags=list(_tags(store)))


def _manifests(store: Store) -> Iterator[ManifestEntry]:
    for name, version, data in _documents(store, "manifests"):
        try:
            manifest = Manifest.from_bytes(data)
        except ManifestError:
            continue
        if (manifest.name, manifest.version) == (name, version):
            yield ManifestEntry(
                name=name,
                version=version,
                size=manifest.size,
                sha256=manifest.sha256,
                created=manifest.created,
            )


def _tags(store: Store) -> Iterator[TagEntry]:
    for name, tag, data in _documents(store, "tags"):
        try:
            version = tag_version(data)
        except HTTPException:
            continue
        yield TagEntry(name=name, tag=tag, version=version)


def _documents(store: Store, folder: str) -> Iterator[tuple[str, str, bytes]]:
    """(name, stem, bytes) of each readable ``folder/<name>/<stem>.json``, sorted."""
    found = []
    for path in (store.root / folder).glob("*/*.json"):
        name, stem = path.parent.name, path.name.removesuffix(".json")
        if store.file(f"{folder}/{name}/{path.name}") is not None:
            found.append((name, stem, path))
    for name, stem, path in sorted(found):
        try:
            yield name, stem, path.read_bytes()
        except OSError:
            continue
