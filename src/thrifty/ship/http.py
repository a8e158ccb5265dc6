"""A store read over HTTP from any static server, and written through ``thrifty serve``.

Reading a chunk resumes per RFC 9110: ``Range: bytes=N-`` (or ``bytes=N-M``, a span of it) for
the bytes already held, with ``If-Range`` carrying the strong ETag the first answer gave (weak
ones are never sent). A 206 must start at N; a 200 is the whole object, so the chunk starts
over; a 416 means the held bytes are no prefix of the object, so they are dropped.

It speaks HTTP through the standard library's ``http.client``, one keep-alive connection per
thread, reading bodies with ``readinto`` into a reused buffer: on loopback that moved 89 MB in
0.09 s against httpx's 0.30 s (and curl's 0.15 s), and pulls are bound by exactly that.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import ssl
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

from thrifty.errors import NotInStore, StoreError, TransferInterrupted
from thrifty.ship.manifest import Manifest
from thrifty.ship.ranges import Body, RangeRefused

TIMEOUT = 30.0  # seconds without a byte before a connection counts as dropped
RETRIES = 3  # connection errors and 503s, with a short pause between
BLOCK = 2**20


class HttpStore:
    def __init__(self, url: str, token: str | None):
        self.url = url.rstrip("/")
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise StoreError(f"{url} is not an http(s):// URL")
        self.scheme, self.host, self.port = parts.scheme, parts.hostname, parts.port
        self.prefix = parts.path.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self.local, "connection", None)
        if connection is None:
            if self.scheme == "https":
                connection = http.client.HTTPSConnection(
                    self.host, self.port, timeout=TIMEOUT, context=ssl.create_default_context()
                )
            else:
                connection = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
            self.local.connection = connection
        return connection

    def _drop_connection(self) -> None:
        connection = getattr(self.local, "connection", None)
        if connection is not None:
            connection.close()
            self.local.connection = None

    @contextlib.contextmanager
    def _request(
        self, method: str, path: str, body: bytes | None = None, **headers: str
    ) -> Iterator[http.client.HTTPResponse]:
        """One request on this thread's connection, retried on a dropped connection or a 503
        before any of the answer was read; the answer's body must be read inside the block."""
        for attempt in range(RETRIES):
            try:
                connection = self._connection()
                connection.request(
                    method, f"{self.prefix}/{path}", body=body, headers={**self.headers, **headers}
                )
                response = connection.getresponse()
            except (OSError, http.client.HTTPException) as error:
                self._drop_connection()
                if attempt == RETRIES - 1:
                    raise TransferInterrupted(f"cannot reach {self.url}: {error}") from None
            else:
                if response.status != 503 or attempt == RETRIES - 1:
                    break
                response.read()
            time.sleep(0.2 * 2**attempt)
        try:
            yield response
            if not response.isclosed():
                response.read()  # the rest, so the connection can serve the next request
        except StoreError:  # the caller's verdict on the answer (an OSError too): not a drop
            self._drop_connection()  # its body may be unread
            raise
        except (OSError, http.client.HTTPException) as error:
            self._drop_connection()
            raise TransferInterrupted(f"the connection to {self.url} dropped: {error}") from None
        if response.will_close:
            self._drop_connection()

    def read(self, path: str) -> bytes:
        with self._request("GET", path) as response:
            data = response.read()
            _check(response, data, f"read {path} from {self.url}")
            return data

    def exists(self, path: str) -> bool:
        with self._request("HEAD", path) as response:
            if response.status == 404:
                return False
            _check(response, b"", f"look up {path} in {self.url}")
            return True

    def write(self, path: str, data: bytes) -> None:
        with self._request("PUT", path, bytes(data)) as response:
            try:
                answer = response.read()
            except (OSError, http.client.HTTPException):  # a refusal may close mid-body
                answer = b""
            if response.status == 401:
                raise StoreError(
                    f"{self.url} refused the upload (401): set THRIFTY_TOKEN to the server's token"
                )
            _check(response, answer, f"write {path} to {self.url}")

    @contextlib.contextmanager
    def open_range(
        self, path: str, start: int, stop: int | None, etag: str | None
    ) -> Iterator[Body]:
        headers = {}
        if start or stop is not None:
            headers["Range"] = f"bytes={start}-{'' if stop is None else stop - 1}"
        if start and etag and not etag.startswith("W/"):
            headers["If-Range"] = etag
        with self._request("GET", path, **headers) as response:
            if response.status == 416 and start:
                response.read()
                raise RangeRefused(f"{path}: the held bytes are no prefix of the object")
            if response.status == 206 and not _starts_at(response, start):
                raise StoreError(f"{self.url} answered {path} from the wrong offset")
            if response.status not in (200, 206):
                _check(response, response.read(), f"read {path} from {self.url}")
            etag = response.getheader("ETag")
            strong = etag if etag and not etag.startswith("W/") else None
            yield Body(start if response.status == 206 else 0, strong, self._blocks(response))

    def _blocks(self, response: http.client.HTTPResponse) -> Iterator[memoryview]:
        """The body as it arrives, in this thread's buffer, reused from block to block and
        request to request (a fresh one costs page faults at every request); a body that ends
        before its Content-Length is a dropped connection."""
        buffer = getattr(self.local, "buffer", None)
        if buffer is None:
            buffer = self.local.buffer = memoryview(bytearray(BLOCK))
        while count := response.readinto(buffer):
            yield buffer[:count]
        if response.length:  # http.client counts down what Content-Length promised
            raise http.client.IncompleteRead(b"", response.length)

    def listing(self, strict: bool = False) -> tuple[list[Manifest], dict[tuple[str, str], str]]:
        try:
            document = json.loads(self.read("list"))
        except NotInStore:
            raise StoreError(
                f"{self.url} cannot list its contents: only `thrifty serve` can; "
                "run this on the store's folder instead"
            ) from None
        manifests = [
            Manifest.from_bytes(self.read(f"manifests/{m['name']}/{m['version']}.json"))
            for m in document["manifests"]
        ]
        tags = {(t["name"], t["tag"]): t["version"] for t in document["tags"]}
        return manifests, tags

    def chunks(self) -> dict[str, int]:
        raise StoreError(f"{self.url}: collect garbage on the store's folder, not over HTTP")

    def delete(self, path: str) -> None:
        raise StoreError(f"{self.url}: objects are not deleted over HTTP")


def _check(response: http.client.HTTPResponse, body: bytes, doing: str) -> None:
    if response.status == 404:
        raise NotInStore(f"cannot {doing}: not there")
    if response.status >= 400:
        detail = body.decode("utf-8", "replace").strip().splitlines()[0][:200] if body else ""
        raise StoreError(f"cannot {doing}: HTTP {response.status} {detail}".rstrip())


def _starts_at(response: http.client.HTTPResponse, start: int) -> bool:
    """Whether a 206's ``Content-Range: bytes a-b/n`` starts at ``start``."""
    unit, _, spec = (response.getheader("Content-Range") or "").partition(" ")
    return unit == "bytes" and spec.split("-", 1)[0] == str(start)
