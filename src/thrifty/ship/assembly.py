"""The file a pull is building: a temporary file beside the destination, and a journal that
lets a killed pull resume (docs/STORE.md, Pull).

Chunks are written straight to their offsets in ``.<dest>.pull``; ``.<dest>.pull.log`` records,
line by line, how many bytes of each chunk are written (and the ETag they came with) and which
chunks are verified. Nothing in it is trusted on resume without a check: the bytes a line
claims are hashed again before the rest of the chunk is appended, and the whole file is read
back and checked against the manifest's digest before it is published.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

from thrifty.ship.digest import Digest, chunk_digest, file_digest
from thrifty.ship.manifest import Chunk, Manifest

JOURNAL_VERSION = "thrifty-pull 1"
BLOCK = 4 * 2**20
SYNC_EVERY = 16 * 2**20


class Assembly:
    def __init__(self, dest: Path, manifest: Manifest):
        self.dest = dest
        self.manifest = manifest
        self.temporary = dest.with_name(f".{dest.name}.pull")
        self.journal_path = dest.with_name(f".{dest.name}.pull.log")
        self.offsets: dict[str, list[int]] = {}
        offset = 0
        for chunk in manifest.chunks:
            self.offsets.setdefault(chunk.sha256, []).append(offset)
            offset += chunk.size
        self.progress, self.done = self._resume()
        self.ready = {sha: threading.Event() for sha in self.offsets}  # verified and in place
        self.abandoned = False
        for sha in self.done:
            self.ready[sha].set()
        self.fd = os.open(self.temporary, os.O_RDWR | os.O_CREAT, 0o666)
        os.ftruncate(self.fd, manifest.size)
        self.journal = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        if not self.progress and not self.done:
            os.write(self.journal, f"{JOURNAL_VERSION} {manifest.sha256}\n".encode())

    def _resume(self) -> tuple[dict[str, tuple[int, str | None]], set[str]]:
        """What an earlier, interrupted pull of the same file left; nothing for another file."""
        progress: dict[str, tuple[int, str | None]] = {}
        done: set[str] = set()
        try:
            lines = self.journal_path.read_text().splitlines()
        except (OSError, UnicodeDecodeError):
            lines = []
        if not lines or lines[0] != f"{JOURNAL_VERSION} {self.manifest.sha256}":
            self.journal_path.unlink(missing_ok=True)
            self.temporary.unlink(missing_ok=True)
            return progress, done
        for line in lines[1:]:
            parts = line.split(" ")
            if len(parts) == 2 and parts[1] == "done":
                done.add(parts[0])
            elif len(parts) == 3 and parts[1].isdigit():
                progress[parts[0]] = (int(parts[1]), None if parts[2] == "-" else parts[2])
        return progress, done

    def first_offset(self, chunk: Chunk) -> int:
        return self.offsets[chunk.sha256][0]

    def held(self, chunk: Chunk) -> tuple[int, str | None, Digest]:
        """Bytes of ``chunk`` an earlier run wrote, their ETag, and a hash over them."""
        count, etag = self.progress.get(chunk.sha256, (0, None))
        count = min(count, chunk.size)
        digest = chunk_digest(chunk)
        digest.update(os.pread(self.fd, count, self.first_offset(chunk)))
        return count, etag, digest

    def write(self, chunk: Chunk, at: int, block: bytes | memoryview, etag: str | None) -> None:
        os.pwrite(self.fd, block, self.first_offset(chunk) + at)
        self.progress[chunk.sha256] = (at + len(block), etag)
        self._log(f"{chunk.sha256} {at + len(block)} {etag or '-'}")

    def restart(self, chunk: Chunk) -> None:
        self.progress[chunk.sha256] = (0, None)
        self._log(f"{chunk.sha256} 0 -")

    def finish(self, chunk: Chunk) -> None:
        """``chunk`` is verified: copy it to its other offsets, if it repeats, and say so."""
        offsets = self.offsets[chunk.sha256]
        if len(offsets) > 1:
            data = os.pread(self.fd, chunk.size, offsets[0])
            for offset in offsets[1:]:
                os.pwrite(self.fd, data, offset)
        self._log(f"{chunk.sha256} done")
        self.ready[chunk.sha256].set()

    def read(self, chunk: Chunk) -> bytes:
        """The bytes of a chunk put in place and verified."""
        return os.pread(self.fd, chunk.size, self.first_offset(chunk))

    def put(self, chunk: Chunk, data: bytes) -> None:
        """A verified chunk from elsewhere (the cache)."""
        os.pwrite(self.fd, data, self.first_offset(chunk))
        self.finish(chunk)

    def _log(self, line: str) -> None:
        os.write(self.journal, f"{line}\n".encode())  # one append: whole lines, even killed

    def matches_manifest(self) -> bool | None:
        """Whether the file as written hashes to the manifest's digest, read back chunk by chunk
        in file order as each is put in place (run it beside the fetches); None if the pull is
        abandoned first."""
        digest, offset, synced = file_digest(self.manifest), 0, 0
        buffer = memoryview(bytearray(BLOCK))  # reused: a fresh 4 MiB read costs page faults
        for chunk in self.manifest.chunks:
            self.ready[chunk.sha256].wait()
            if self.abandoned:
                return None
            for start in range(offset, offset + chunk.size, BLOCK):
                count = os.preadv(self.fd, [buffer[: offset + chunk.size - start]], start)
                digest.update(buffer[:count])
            offset += chunk.size
            if offset - synced >= SYNC_EVERY:  # start the disk early: publish's fsync is short
                os.fdatasync(self.fd)
                synced = offset
        return digest.matches()

    def abandon(self) -> None:
        """Stop ``matches_manifest`` waiting: the pull failed."""
        self.abandoned = True
        for event in self.ready.values():
            event.set()

    def publish(self) -> None:
        """fsync, rename over ``dest``, forget the journal."""
        os.fsync(self.fd)
        os.replace(self.temporary, self.dest)
        self.close()
        self.journal_path.unlink(missing_ok=True)

    def discard(self) -> None:
        self.close()
        self.temporary.unlink(missing_ok=True)
        self.journal_path.unlink(missing_ok=True)

    def close(self) -> None:
        for fd in (self.fd, self.journal):
            with contextlib.suppress(OSError):  # closed already
                os.close(fd)
        self.fd = self.journal = -1
