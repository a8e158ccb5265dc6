"""A version of a file in a store: its chunks in order, its size and digest (docs/STORE.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from thrifty.errors import ManifestError, StoreError
from thrifty.ship.layout import check_name, check_sha256

FORMAT = "thrifty-manifest"
MANIFEST_VERSION = 1
MAX_CHUNK_BYTES = 16 * 2**20
MAX_MANIFEST_BYTES = 16 * 2**20
MAX_CHUNKS = 1_000_000
CHUNKINGS = ("thrifty-records", "fastcdc")


@dataclass(frozen=True)
class Chunk:
    sha256: str
    size: int


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

    def to_bytes(self) -> bytes:
        document = {
            "format": FORMAT,
            "manifest_version": MANIFEST_VERSION,
            "name": self.name,
            "version": self.version,
            "size": self.size,
            "sha256": self.sha256,
            "chunking": self.chunking,
            "chunks": [{"sha256": c.sha256, "size": c.size} for c in self.chunks],
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
        if document.get("format") != FORMAT or document.get("manifest_version") != 1:
            raise ManifestError(f"manifest must say format {FORMAT!r}, manifest_version 1")
        try:
            name = check_name(document.get("name"))
            version = check_name(document.get("version"), "version")
            sha256 = check_sha256(document.get("sha256"))
        except StoreError as error:
            raise ManifestError(f"manifest: {error}") from None
        if document.get("chunking") not in CHUNKINGS:
            raise ManifestError(f"manifest chunking must be one of {CHUNKINGS}")
        chunks = _chunks(document.get("chunks"))
        size = document.get("size")
        if not _is_size(size) or size != sum(c.size for c in chunks):
            raise ManifestError(f"manifest size {size!r} is not the sum of its chunks' sizes")
        created = document.get("created")
        if not isinstance(created, str):
            raise ManifestError("manifest created must be a string")
        return cls(name, version, size, sha256, document["chunking"], chunks, created)


def _chunks(value: Any) -> tuple[Chunk, ...]:
    if not isinstance(value, list) or len(value) > MAX_CHUNKS:
        raise ManifestError(f"manifest chunks must be a list of at most {MAX_CHUNKS}")
    chunks = []
    for index, entry in enumerate(value):
        if not isinstance(entry, dict) or set(entry) != {"sha256", "size"}:
            raise ManifestError(f"manifest chunks[{index}] must be {{sha256, size}}")
        size = entry["size"]
        if not _is_size(size) or not 1 <= size <= MAX_CHUNK_BYTES:
            raise ManifestError(
                f"manifest chunks[{index}] has size {size!r}; chunks hold 1 to "
                f"{MAX_CHUNK_BYTES} bytes"
            )
        try:
            chunks.append(Chunk(check_sha256(entry["sha256"]), size))
        except StoreError as error:
            raise ManifestError(f"manifest chunks[{index}]: {error}") from None
    return tuple(chunks)


def _is_size(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63
