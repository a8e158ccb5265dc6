"""The local chunk cache: chunks of earlier pulls, so a new version moves only what
changed; and the partial chunks of an interrupted pull, so it resumes where it stopped.

``$THRIFTY_CACHE`` (default ``~/.cache/thrifty``) holds ``chunks/<h2>/<sha256>``, each verified
before it was added, and ``partial/<sha256>`` (with ``.etag`` beside it over HTTP).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from thrifty.atomic import write_atomic
from thrifty.ship.layout import check_sha256, chunk_path
from thrifty.ship.manifest import Chunk


def default_root() -> Path:
    return Path(os.environ.get("THRIFTY_CACHE") or Path.home() / ".cache" / "thrifty")


class Cache:
    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else default_root()

    def path(self, sha256: str) -> Path:
        return self.root / chunk_path(sha256)

    def partial(self, sha256: str) -> Path:
        folder = self.root / "partial"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / check_sha256(sha256)

    def has(self, chunk: Chunk) -> bool:
        """Whether the cache holds ``chunk``, its bytes checked against its SHA-256 again (a
        damaged cache file is removed, and the chunk fetched anew)."""
        path = self.path(chunk.sha256)
        if not path.is_file():
            return False
        if path.stat().st_size == chunk.size and sha256_of(path) == chunk.sha256:
            return True
        path.unlink(missing_ok=True)
        return False

    def add_bytes(self, chunk: Chunk, data: bytes | memoryview) -> None:
        path = self.path(chunk.sha256)
        if not path.is_file():
            write_atomic(path, bytes(data))

    def admit(self, chunk: Chunk) -> bool:
        """Move a finished partial into the cache if it is exactly ``chunk``; otherwise drop it.
        Returns whether it was admitted."""
        partial = self.partial(chunk.sha256)
        good = partial.stat().st_size == chunk.size and sha256_of(partial) == chunk.sha256
        if good:
            with partial.open("rb") as handle:
                os.fsync(handle.fileno())
            self.path(chunk.sha256).parent.mkdir(parents=True, exist_ok=True)
            os.replace(partial, self.path(chunk.sha256))
        else:
            partial.unlink(missing_ok=True)
        partial.with_name(partial.name + ".etag").unlink(missing_ok=True)
        return good


def sha256_of(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
