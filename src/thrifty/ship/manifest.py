"""A version of a file in a store: its chunks in order, its size and digests (docs/STORE.md).

Version 2 gives every chunk and the whole file a BLAKE3 beside its SHA-256, which pulls check
(``digest.py``); version 1, without them, is still read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from thrifty.errors import ManifestError, StoreError
from thrifty.ship.layout import check_name, check_sha256

FORMAT = "thrifty-manifest"
MANIFEST_VERSIONS = (1, 2)
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

    def to_bytes(self) -> bytes:
        document = {
            "format": FORMAT,
            "manifest_version": 1 if self.blake3 is None else 2,
            "name": self.name,
            "version": self.version,
            "size": self.size,
            "sha256": self.sha256,
            **({} if self.blake3 is None else {"blake3": self.blake3}),
            "chunking": self.chunking,
            "chunks": [c.to_json() for c in self.chunks],
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
                f"manifest must say format {FORMAT!r}, manifest_version 1 or 2; a newer "
                "thrifty may have written it: upgrade thrifty"
            )
        with_blake3 = manifest_version == 2
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
        return cls(name, version, size, sha256, document["chunking"], chunks, created, blake3)


def _chunks(value: Any, with_blake3: bool) -> tuple[Chunk, ...]:
    if not isinstance(value, list) or len(value) > MAX_CHUNKS:
        raise ManifestError(f"manifest chunks must be a list of at most {MAX_CHUNKS}")
    keys = {"sha256", "size", "blake3"} if with_blake3 else {"sha256", "size"}
    chunks = []
    for index, entry in enumerate(value):
        if not isinstance(entry, dict) or set(entry) != keys:
            raise ManifestError(f"manifest chunks[{index}] must be {{{', '.join(sorted(keys))}}}")
        size = entry["size"]
        if not _is_size(size) or not 1 <= size <= MAX_CHUNK_BYTES:
            raise ManifestError(
                f"manifest chunks[{index}] has size {size!r}; chunks hold 1 to "
                f"{MAX_CHUNK_BYTES} bytes"
            )
        try:
            blake3 = check_sha256(entry["blake3"], "BLAKE3") if with_blake3 else None
            chunks.append(Chunk(check_sha256(entry["sha256"]), size, blake3))
        except StoreError as error:
            raise ManifestError(f"manifest chunks[{index}]: {error}") from None
    return tuple(chunks)


def _is_size(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63
