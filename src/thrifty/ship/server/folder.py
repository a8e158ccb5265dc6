"""The store folder as the server sees it, and what reading and writing share: the request
paths' parameters, and errors answered as ``{"detail": message}``."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import HTTPException, Request
from fastapi import Path as PathParameter

from thrifty.errors import StoreError
from thrifty.ship.layout import NAME, SHA256, chunk_path, parse_path
from thrifty.ship.manifest import Manifest


@dataclass
class Store:
    """A store folder as the server sees it: ``root`` is already resolved."""

    root: Path
    token: str | None
    max_body: int
    read_timeout: float
    lock: threading.Lock = field(default_factory=threading.Lock)  # held to write a manifest

    def inside(self, relative: str) -> Path | None:
        """``root/relative`` if it is a layout path whose real path stays inside the root."""
        try:
            parse_path(relative)
        except StoreError:
            return None
        path = self.root / relative
        try:
            real = path.resolve()
        except (OSError, RuntimeError):  # a symlink loop
            return None
        return path if real.is_relative_to(self.root) else None

    def file(self, relative: str) -> Path | None:
        """``root/relative`` if it is a layout path, inside the root, and a regular file."""
        path = self.inside(relative)
        return path if path is not None and path.is_file() else None

    def missing_objects(self, manifest: Manifest) -> list[str]:
        """The chunks and delta objects ``manifest`` names that the folder lacks."""
        return [sha256 for sha256 in manifest.objects() if self.file(chunk_path(sha256)) is None]


# Requests: parameters as the OpenAPI spec describes them (patterns documented, not enforced,
# so that a bad name is a 404 from the layout's own check rather than a 422).

H2 = Annotated[str, PathParameter(json_schema_extra={"pattern": "^[0-9a-f]{2}$"})]
Sha256 = Annotated[str, PathParameter(json_schema_extra={"pattern": f"^{SHA256.pattern}$"})]
Name = Annotated[str, PathParameter(json_schema_extra={"pattern": f"^{NAME.pattern}$"})]


def store_of(request: Request) -> Store:
    return request.app.state.store


def http_error(
    status: int, message: str, headers: dict[str, str] | None = None, *, close: bool = False
) -> HTTPException:
    """An HTTP error answered as ``{"detail": message}`` on one line. ``close``: drop the
    connection after answering, for a request whose body was not read to its end."""
    headers = {**(headers or {}), **({"Connection": "close"} if close else {})}
    return HTTPException(status, " ".join(message.split()), headers or None)


def not_found(relative: str) -> HTTPException:
    return http_error(404, f"{relative} is not in this store")
