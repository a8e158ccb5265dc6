"""A store read over HTTP from any static server, and written through ``thrifty serve``.

Reading a chunk resumes per RFC 9110: ``Range: bytes=N-`` for the bytes a partial file lacks,
with ``If-Range`` carrying the strong ETag the first answer gave (weak ones are never sent). A
206 must start at N and is appended; a 200 is the whole object, so the partial starts over; a
416 drops the partial and asks again without a range.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from thrifty.errors import NotInStore, StoreError, TransferInterrupted
from thrifty.ship.manifest import Manifest

TIMEOUT = httpx.Timeout(30.0, connect=10.0)
RETRIES = 3  # connection errors and 503s, with a short pause between


class HttpStore:
    def __init__(self, url: str, token: str | None):
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(
            headers=headers,
            timeout=TIMEOUT,
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=32),
        )

    def _get(self, path: str, **headers: str) -> httpx.Response:
        return self._send("GET", path, headers=headers)

    def _send(self, method: str, path: str, **kwargs) -> httpx.Response:
        for attempt in range(RETRIES):
            try:
                response = self.client.request(method, f"{self.url}/{path}", **kwargs)
            except httpx.TransportError as error:
                if attempt == RETRIES - 1:
                    raise StoreError(f"cannot reach {self.url}: {error}") from None
            else:
                if response.status_code != 503 or attempt == RETRIES - 1:
                    return response
            time.sleep(0.2 * 2**attempt)
        raise AssertionError("unreachable")

    def read(self, path: str) -> bytes:
        response = self._get(path)
        if response.status_code == 404:
            raise NotInStore(f"{path} is not in {self.url}")
        _check(response, f"read {path} from {self.url}")
        return response.content

    def exists(self, path: str) -> bool:
        response = self._send("HEAD", path)
        if response.status_code == 404:
            return False
        _check(response, f"look up {path} in {self.url}")
        return True

    def write(self, path: str, data: bytes) -> None:
        response = self._send("PUT", path, content=data)
        if response.status_code == 401:
            raise StoreError(
                f"{self.url} refused the upload (401): set THRIFTY_TOKEN to the server's token"
            )
        _check(response, f"write {path} to {self.url}")

    def fetch(self, path: str, partial: Path, moved: Callable[[int], None]) -> None:
        try:
            self._fetch(path, partial, moved)
        except httpx.TransportError as error:
            raise TransferInterrupted(
                f"the connection to {self.url} dropped during {path}: {error}"
            ) from None

    def _fetch(self, path: str, partial: Path, moved: Callable[[int], None]) -> None:
        start = partial.stat().st_size if partial.exists() else 0
        tag_file = partial.with_name(partial.name + ".etag")
        etag = tag_file.read_text() if start and tag_file.exists() else None
        headers = {}
        if start:
            headers["Range"] = f"bytes={start}-"
            if etag:
                headers["If-Range"] = etag
        with self.client.stream("GET", f"{self.url}/{path}", headers=headers) as response:
            status = response.status_code
            if status == 404:
                raise NotInStore(f"{path} is not in {self.url}")
            if status == 416 and start:  # the partial is no prefix of what is there: start over
                partial.unlink(missing_ok=True)
                tag_file.unlink(missing_ok=True)
                return self._fetch(path, partial, moved)
            if status == 206 and not _starts_at(response, start):
                raise StoreError(f"{self.url} answered {path} from the wrong offset")
            _check(response, f"read {path} from {self.url}")
            _remember(tag_file, response.headers.get("ETag"))
            with partial.open("ab" if status == 206 else "wb") as out:
                for block in response.iter_bytes():  # as it comes: a cut keeps it
                    out.write(block)
                    moved(len(block))
        return None

    def listing(self, strict: bool = False) -> tuple[list[Manifest], dict[tuple[str, str], str]]:
        response = self._get("list")
        if response.status_code == 404:
            raise StoreError(
                f"{self.url} cannot list its contents: only `thrifty serve` can; "
                "run this on the store's folder instead"
            )
        _check(response, f"list {self.url}")
        document = json.loads(response.content)
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


def _check(response: httpx.Response, doing: str) -> None:
    if response.status_code >= 400:
        detail = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
        raise StoreError(f"cannot {doing}: HTTP {response.status_code} {detail}".rstrip())


def _starts_at(response: httpx.Response, start: int) -> bool:
    """Whether a 206's ``Content-Range: bytes a-b/n`` starts at ``start``."""
    unit, _, spec = response.headers.get("Content-Range", "").partition(" ")
    return unit == "bytes" and spec.split("-", 1)[0] == str(start)


def _remember(tag_file: Path, etag: str | None) -> None:
    """Keep a strong ETag for the next If-Range; forget any other."""
    if etag and not etag.startswith("W/"):
        tag_file.write_text(etag)
    else:
        tag_file.unlink(missing_ok=True)
