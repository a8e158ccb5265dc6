"""A range read of a stored object, as every store answers it (docs/STORE.md, Pull): the
bytes from where the reader resumes, or a refusal that sends it back to the start. Its own
module so that each store (``store.FsspecStore``, ``http.HttpStore``) and the code choosing
between them (``store.open_store``) share it without importing each other."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from thrifty.errors import StoreError


@dataclass
class Body:
    """An object's bytes from ``start`` on (0 when the server would not resume), the strong
    ETag to resume with later (None if the server gave none), and the blocks as they come."""

    start: int
    etag: str | None
    blocks: Iterator[bytes | memoryview]


class RangeRefused(StoreError):
    """The bytes held are no prefix of the object (HTTP 416): start the object over."""
