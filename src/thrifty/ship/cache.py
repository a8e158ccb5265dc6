"""Where earlier pulls left each chunk, so a new version moves only the chunks that changed.

The cache holds no copies: it remembers, for every chunk of every file pulled, the file and
offset where its bytes lie (``$THRIFTY_CACHE``, default ``~/.cache/thrifty``, one small entry
per chunk under ``index/<h2>/<sha256>``). Reusing a chunk reads it from there and checks its
digest first, so a file moved, edited or deleted since only means the chunk is fetched again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from thrifty.ship.digest import holds
from thrifty.ship.layout import chunk_path
from thrifty.ship.manifest import Chunk, Manifest


def default_root() -> Path:
    return Path(os.environ.get("THRIFTY_CACHE") or Path.home() / ".cache" / "thrifty")


class Cache:
    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else default_root()

    def _entry(self, sha256: str) -> Path:
        return self.root / "index" / chunk_path(sha256).removeprefix("chunks/")

    def find(self, chunk: Chunk) -> bytes | None:
        """The chunk's bytes from where a pull left them, if they are still there, unchanged."""
        try:
            where = json.loads(self._entry(chunk.sha256).read_text())
            with open(where["path"], "rb") as handle:
                data = os.pread(handle.fileno(), chunk.size, where["offset"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return data if holds(chunk, data) else None

    def remember(self, manifest: Manifest, path: Path) -> None:
        """Record where each chunk of ``manifest`` lies in ``path``, the file just pulled.
        Not fsynced: an entry lost or stale only means a chunk is fetched again."""
        offset, path = 0, str(Path(path).resolve())
        for chunk in manifest.chunks:
            entry = self._entry(chunk.sha256)
            entry.parent.mkdir(parents=True, exist_ok=True)
            temporary = entry.with_name(f".{entry.name}.{os.getpid()}")
            temporary.write_text(json.dumps({"path": path, "offset": offset}))
            os.replace(temporary, entry)
            offset += chunk.size
