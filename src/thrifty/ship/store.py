"""A store at a URL (docs/STORE.md): a folder, ``s3://``, ``memory://`` or ``http(s)://``.

Folders, S3 and every other fsspec file system share one code path (``FsspecStore``). HTTP has
its own (``HttpStore``, on httpx) because resuming a chunk needs what fsspec's HTTP layer hides:
the status of a Range request (206, or 200 meaning "start over") and the strong ETag to send in
``If-Range`` (RFC 9110); and because writing goes through ``thrifty serve``, whose answers
(401, 409, 413) must reach the user.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from thrifty.atomic import write_atomic
from thrifty.errors import NotInStore, StoreError, TransferInterrupted
from thrifty.ship.layout import SHA256, manifest_path, tag_path
from thrifty.ship.manifest import Manifest
from thrifty.ship.ranges import Body, RangeRefused

BLOCK = 4 * 2**20  # bytes per read of an object


class Store(Protocol):
    url: str

    def read(self, path: str) -> bytes:
        """The object's bytes; NotInStore when it is missing."""

    def exists(self, path: str) -> bool: ...

    def write(self, path: str, data: bytes) -> None:
        """Store the object whole or not at all."""

    def open_range(
        self, path: str, start: int, stop: int | None, etag: str | None
    ) -> contextlib.AbstractContextManager[Body]:
        """The object's bytes from ``start`` to ``stop`` (None: its end; see docs/STORE.md,
        Pull); TransferInterrupted when the connection drops, while opening or while the blocks
        are read."""

    def listing(self, strict: bool = False) -> tuple[list[Manifest], dict[tuple[str, str], str]]:
        """Every manifest, and every tag as (name, tag) -> version. A manifest that does not
        parse is skipped, or with ``strict`` raised (gc must not guess)."""

    def chunks(self) -> dict[str, int]:
        """Every chunk held: its SHA-256 and size."""

    def delete(self, path: str) -> None: ...


def open_store(url: str | Path, token: str | None = None) -> Store:
    """The store at ``url``: a folder path, or a URL fsspec or httpx speaks."""
    text = str(url)
    if text.startswith(("http://", "https://")):
        from thrifty.ship.http import HttpStore

        return HttpStore(text, token or os.environ.get("THRIFTY_TOKEN"))
    return FsspecStore(text)


def resolve(store: Store, name: str, version: str) -> Manifest:
    """The manifest of ``name@version``, where ``version`` may also be a tag."""
    try:
        data = store.read(manifest_path(name, version))
    except NotInStore:
        try:
            tag = json.loads(store.read(tag_path(name, version)))
        except NotInStore:
            raise NotInStore(
                f"{name}@{version} is not in {store.url}: no such version or tag "
                f"(see `thrifty ls {store.url}`)"
            ) from None
        except ValueError:
            raise StoreError(f"tag {name}@{version} in {store.url} is not JSON") from None
        data = store.read(manifest_path(name, tag.get("version") if isinstance(tag, dict) else ""))
    return Manifest.from_bytes(data)


class FsspecStore:
    """A store on any fsspec file system; a local folder writes by temp file and rename."""

    def __init__(self, url: str):
        import fsspec

        self.url = url
        with self._failing("open"):
            self.fs, root = fsspec.core.url_to_fs(url)
        self.root = root.rstrip("/")
        self.local = "file" in _protocols(self.fs)

    def _full(self, path: str) -> str:
        return f"{self.root}/{path}"

    @contextlib.contextmanager
    def _failing(self, doing: str, error: type[StoreError] = StoreError) -> Iterator[None]:
        """Backends raise their own errors (OSError, botocore's, aiohttp's): each becomes one
        StoreError line naming the store; a missing object becomes NotInStore."""
        try:
            yield
        except StoreError:
            raise
        except FileNotFoundError:
            raise NotInStore(f"cannot {doing}: not in {self.url}") from None
        except Exception as failure:  # the backend's own error types, of any library
            raise error(f"cannot {doing} in {self.url}: {failure}") from None

    def read(self, path: str) -> bytes:
        with self._failing(f"read {path}"):
            return self.fs.cat_file(self._full(path))

    def exists(self, path: str) -> bool:
        with self._failing(f"look up {path}"):
            return self.fs.exists(self._full(path))

    def write(self, path: str, data: bytes) -> None:
        with self._failing(f"write {path}"):
            if self.local:
                write_atomic(self._full(path), data)
            else:  # object stores publish an object only once its upload completes
                self.fs.pipe_file(self._full(path), data)

    @contextlib.contextmanager
    def open_range(
        self, path: str, start: int, stop: int | None, etag: str | None
    ) -> Iterator[Body]:
        with self._failing(f"read {path}", TransferInterrupted):  # no read-ahead past ``stop``:
            source = self.fs.open(self._full(path), "rb", cache_type="none")
        try:
            if start > source.size:
                raise RangeRefused(f"{path} is shorter than the {start} bytes held")
            source.seek(start)
            yield Body(
                start, None, self._blocks(source, path, source.size if stop is None else stop)
            )
        finally:
            source.close()

    def _blocks(self, source, path: str, stop: int) -> Iterator[bytes]:
        while (wanted := min(BLOCK, stop - source.tell())) > 0:
            with self._failing(f"read {path}", TransferInterrupted):
                block = source.read(wanted)
            if not block:
                return
            yield block

    def listing(self, strict: bool = False) -> tuple[list[Manifest], dict[tuple[str, str], str]]:
        manifests, tags = [], {}
        with self._failing("list manifests"):
            for full in sorted(self.fs.glob(self._full("manifests/*/*.json"))):
                try:
                    manifests.append(Manifest.from_bytes(self.fs.cat_file(full)))
                except StoreError as error:
                    if strict:
                        raise StoreError(f"{full}: {error}") from None
            for full in sorted(self.fs.glob(self._full("tags/*/*.json"))):
                name, tag = full.rsplit("/", 2)[-2:]
                try:
                    tags[name, tag.removesuffix(".json")] = json.loads(self.fs.cat_file(full))[
                        "version"
                    ]
                except (ValueError, KeyError, TypeError):
                    continue
        return manifests, tags

    def chunks(self) -> dict[str, int]:
        with self._failing("list chunks"):
            found = self.fs.find(self._full("chunks"), detail=True)
        return {
            full.rsplit("/", 1)[-1]: info["size"]
            for full, info in found.items()
            if SHA256.fullmatch(full.rsplit("/", 1)[-1])  # not a write's temporary file
        }

    def delete(self, path: str) -> None:
        with self._failing(f"delete {path}"):
            self.fs.rm_file(self._full(path))


def _protocols(fs) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)
