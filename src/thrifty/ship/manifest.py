"""A version of a file in a store: its chunks in order, its size and digests (docs/STORE.md).

Version 2 gives every chunk and the whole file a BLAKE3 beside its SHA-256, which pulls check
(``digest.py``); version 1, without them, is still read. Version 3 is version 2 with ``deltas``:
records a receiver holding an earlier version can rebuild from a small delta object instead of
fetching their chunks (``delta.py``). Push writes it only when there are deltas, so a file
without them stays readable by a thrifty that predates them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from thrifty.errors import ManifestError, StoreError
from thrifty.ship.layout import check_name, check_sha256

FORMAT = "thrifty-manifest"
MANIFEST_VERSIONS = (1, 2, 3)
MAX_CHUNK_BYTES = 16 * 2**20
MAX_MANIFEST_BYTES = 16 * 2**20
MAX_CHUNKS = 1_000_000
CHUNKINGS = ("thrifty-records", "fastcdc")


@dataclass(frozen=True)
class Chunk:
    sha256: str  # its address in the store
    size: int
    blake3: str | None = None  # manifest_version 2: what a pull checks it against

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"sha256": self.sha256, "size": self.size}
        if self.blake3 is not None:
            document["blake3"] = self.blake3
        return document


@dataclass(frozen=True)
class Delta:
    """A delta object for one record of the file: fetch it, rebuild the record from the base
    record (which an earlier pull left in the receiver's cache), and the record's chunks need
    not move."""

    chunks: tuple[int, ...]  # the target record's chunks: their indices in the manifest
    base: tuple[Chunk, ...]  # the base record's chunks, in order
    sha256: str  # the delta object's address in the store (beside the chunks)
    size: int
    blake3: str

    def to_json(self) -> dict[str, Any]:
        return {
            "chunks": list(self.chunks),
            "base": [c.to_json() for c in self.base],
            "sha256": self.sha256,
            "size": self.size,
            "blake3": self.blake3,
        }

    def object(self) -> Chunk:
        """The delta object as a blob of the store, checked like a chunk."""
        return Chunk(self.sha256, self.size, self.blake3)


@dataclass(frozen=True)
class Manifest:
    name: str
    version: str
    size: int
    sha256: str
    chunking: str
    chunks: tuple[Chunk, ...]
    created: str = field(
        default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), compare=False
    )
    blake3: str | None = None  # of the whole file; given with every chunk's, or not at all
    deltas: tuple[Delta, ...] = ()  # manifest_version 3, which needs the BLAKE3s

    def objects(self) -> list[str]:
        """The address of every object the store must hold for this version: its chunks and
        its delta objects (not the deltas' bases: those are the receiver's), each once."""
        addresses = [c.sha256 for c in self.chunks] + [d.sha256 for d in self.deltas]
        return list(dict.fromkeys(addresses))

    def to_bytes(self) -> bytes:
        version = 1 if self.blake3 is None else 3 if self.deltas else 2
        document = {
            "format": FORMAT,
            "manifest_version": version,
            "name": self.name,
            "version": self.version,
            "size": self.size,
            "sha256": self.sha256,
            **({} if self.blake3 is None else {"blake3": self.blake3}),
            "chunking": self.chunking,
            "chunks": [c.to_json() for c in self.chunks],
            **({"deltas": [d.to_json() for d in self.deltas]} if self.deltas else {}),
            "created": self.created,
        }
        return (json.dumps(document, indent=1) + "\n").encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        """Parse and check a manifest; ManifestError names the first rule it breaks."""
        if len(data) > MAX_MANIFEST_BYTES:
            raise ManifestError(f"manifest is {len(data)} bytes, over {MAX_MANIFEST_BYTES}")
        try:
            document = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            raise ManifestError(f"manifest is not UTF-8 JSON: {error}") from None
        if not isinstance(document, dict):
            raise ManifestError("manifest is not a JSON object")
        manifest_version = document.get("manifest_version")
        if document.get("format") != FORMAT or manifest_version not in MANIFEST_VERSIONS:
            raise ManifestError(
                f"manifest must say format {FORMAT!r}, manifest_version 1, 2 or 3; a newer "
                "thrifty may have written it: upgrade thrifty"
            )
        with_blake3 = manifest_version >= 2
        try:
            name = check_name(document.get("name"))
            version = check_name(document.get("version"), "version")
            sha256 = check_sha256(document.get("sha256"))
            blake3 = check_sha256(document.get("blake3"), "BLAKE3") if with_blake3 else None
        except StoreError as error:
            raise ManifestError(f"manifest: {error}") from None
        if document.get("chunking") not in CHUNKINGS:
            raise ManifestError(f"manifest chunking must be one of {CHUNKINGS}")
        chunks = _chunks(document.get("chunks"), with_blake3)
        size = document.get("size")
        if not _is_size(size) or size != sum(c.size for c in chunks):
            raise ManifestError(f"manifest size {size!r} is not the sum of its chunks' sizes")
        created = document.get("created")
        if not isinstance(created, str):
            raise ManifestError("manifest created must be a string")
        if manifest_version == 3:
            deltas = _deltas(document.get("deltas"), chunks, document["chunking"])
        elif "deltas" in document:
            raise ManifestError("manifest deltas need manifest_version 3")
        else:
            deltas = ()
        return cls(
            name, version, size, sha256, document["chunking"], chunks, created, blake3, deltas
        )


def _chunks(value: Any, with_blake3: bool, where: str = "chunks") -> tuple[Chunk, ...]:
    if not isinstance(value, list) or len(value) > MAX_CHUNKS:
        raise ManifestError(f"manifest {where} must be a list of at most {MAX_CHUNKS}")
    keys = {"sha256", "size", "blake3"} if with_blake3 else {"sha256", "size"}
    return tuple(_chunk(entry, keys, f"{where}[{index}]") for index, entry in enumerate(value))


def _chunk(entry: Any, keys: set[str], where: str) -> Chunk:
    """One chunk (or delta object) entry: exactly ``keys``, a size of 1 to 16 MiB, digests."""
    if not isinstance(entry, dict) or set(entry) != keys:
        raise ManifestError(f"manifest {where} must be {{{', '.join(sorted(keys))}}}")
    size = entry["size"]
    if not _is_size(size) or not 1 <= size <= MAX_CHUNK_BYTES:
        raise ManifestError(
            f"manifest {where} has size {size!r}; chunks hold 1 to {MAX_CHUNK_BYTES} bytes "
            "(delta objects too)"
        )
    try:
        blake3 = check_sha256(entry["blake3"], "BLAKE3") if "blake3" in keys else None
        return Chunk(check_sha256(entry["sha256"]), size, blake3)
    except StoreError as error:
        raise ManifestError(f"manifest {where}: {error}") from None


def _deltas(value: Any, chunks: tuple[Chunk, ...], chunking: str) -> tuple[Delta, ...]:
    """Version 3's deltas: at least one; each names a run of consecutive chunks after the first
    (the header, always fetched whole), and no chunk address a delta rebuilds occurs anywhere
    else in the file, so each target chunk is rebuilt, or fetched, by one delta alone."""
    if chunking != "thrifty-records":
        raise ManifestError("manifest deltas need chunking thrifty-records")
    if not isinstance(value, list) or not 1 <= len(value) <= len(chunks):
        raise ManifestError("manifest deltas must be a list of 1 to as many entries as chunks")
    keys = {"chunks", "base", "sha256", "size", "blake3"}
    occurrences: dict[str, int] = {}
    for chunk in chunks:
        occurrences[chunk.sha256] = occurrences.get(chunk.sha256, 0) + 1
    deltas, bases = [], 0
    for index, entry in enumerate(value):
        where = f"deltas[{index}]"
        if not isinstance(entry, dict) or set(entry) != keys:
            raise ManifestError(f"manifest {where} must be {{{', '.join(sorted(keys))}}}")
        targets = entry["chunks"]
        if (
            not isinstance(targets, list)
            or not targets
            or not all(_is_size(i) and 1 <= i < len(chunks) for i in targets)
            or targets != list(range(targets[0], targets[0] + len(targets)))
        ):
            raise ManifestError(
                f"manifest {where}.chunks must be consecutive indices of chunks after the first"
            )
        if any(occurrences[chunks[i].sha256] != 1 for i in targets):
            raise ManifestError(
                f"manifest {where} rebuilds a chunk that occurs elsewhere in the file or in "
                "another delta"
            )
        occurrences.update({chunks[i].sha256: 2 for i in targets})  # a second delta: refused
        base = _chunks(entry["base"], True, f"{where}.base")
        bases += len(base)
        if not base or bases > MAX_CHUNKS:
            raise ManifestError(f"manifest {where}.base must name 1 to {MAX_CHUNKS} chunks in all")
        blob = _chunk(
            {k: entry[k] for k in ("sha256", "size", "blake3")}, keys - {"chunks", "base"}, where
        )
        deltas.append(Delta(tuple(targets), base, blob.sha256, blob.size, blob.blake3))
    return tuple(deltas)


def _is_size(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63
