"""Reading: GET and HEAD of chunks, manifests and tags, with ETags and single byte ranges
(RFC 9110)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Annotated

from fastapi import Header, HTTPException, Request
from fastapi.responses import Response, StreamingResponse

from thrifty.ship.server.folder import H2, Name, Sha256, http_error, not_found, store_of

BLOCK = 2**20  # bytes read from disk at a time while sending a chunk
IMMUTABLE = "public, max-age=31536000, immutable"  # chunks and manifests never change
RANGE = re.compile(r"bytes=(?:(\d{1,18})-(\d{0,18})|-(\d{1,18}))", re.ASCII | re.IGNORECASE)

RangeHeader = Annotated[str | None, Header(alias="range")]
IfRangeHeader = Annotated[str | None, Header(alias="if-range")]


def get_chunk(
    request: Request,
    h2: H2,
    sha256: Sha256,
    range_header: RangeHeader = None,
    if_range: IfRangeHeader = None,
) -> Response:
    relative = f"chunks/{h2}/{sha256}"
    path = store_of(request).file(relative)
    if path is None:
        raise not_found(relative)
    try:
        size = path.stat().st_size
    except OSError:
        raise not_found(relative) from None
    return _answer(
        request,
        size,
        f'"{sha256}"',
        "application/octet-stream",
        IMMUTABLE,
        range_header,
        if_range,
        lambda start, stop: _file_blocks(path, start, stop),
    )


def get_manifest(
    request: Request,
    name: Name,
    version: Name,
    range_header: RangeHeader = None,
    if_range: IfRangeHeader = None,
) -> Response:
    return _get_document(
        request, f"manifests/{name}/{version}.json", IMMUTABLE, range_header, if_range
    )


def get_tag(
    request: Request,
    name: Name,
    tag: Name,
    range_header: RangeHeader = None,
    if_range: IfRangeHeader = None,
) -> Response:
    return _get_document(request, f"tags/{name}/{tag}.json", "no-cache", range_header, if_range)


def _get_document(
    request: Request, relative: str, cache: str, range_header: str | None, if_range: str | None
) -> Response:
    """A manifest or a tag: small, so read whole; its ETag is the SHA-256 of its bytes."""
    path = store_of(request).file(relative)
    if path is None:
        raise not_found(relative)
    try:
        data = path.read_bytes()
    except OSError:
        raise not_found(relative) from None
    etag = f'"{hashlib.sha256(data).hexdigest()}"'
    return _answer(
        request,
        len(data),
        etag,
        "application/json",
        cache,
        range_header,
        if_range,
        lambda start, stop: iter([data[start:stop]]),
    )


def _answer(
    request: Request,
    size: int,
    etag: str,
    media_type: str,
    cache: str,
    range_header: str | None,
    if_range: str | None,
    body: Callable[[int, int], Iterable[bytes]],
) -> Response:
    """200 with the whole body, or 206 with the one range asked for (416 if there is none)."""
    head = request.method == "HEAD"  # RFC 9110 defines Range for GET only
    span = None
    if not head and (if_range is None or if_range == etag):  # a weak ETag or a date never equals
        span = byte_range(range_header, size)
    start, stop = span or (0, size)
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Cache-Control": cache,
        "Content-Length": str(stop - start),
    }
    if span is not None:
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    status = 200 if span is None else 206
    if head:
        return Response(status_code=status, headers=headers, media_type=media_type)
    return StreamingResponse(body(start, stop), status, headers, media_type)


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one range ``Range: header`` asks of ``size`` bytes as (start, stop); None to send
    everything (no header, several ranges, or one that does not parse); 416 if unsatisfiable."""
    match = RANGE.fullmatch(header.strip()) if header else None
    if match is None:
        return None
    first, last, suffix = match.groups()
    if suffix is not None:
        length = int(suffix)
        if length == 0 or size == 0:
            raise _unsatisfiable(size)
        return max(0, size - length), size
    start = int(first)
    if last and int(last) < start:
        return None  # an invalid range: ignored, as RFC 9110 allows
    if start >= size:
        raise _unsatisfiable(size)
    return start, (min(int(last) + 1, size) if last else size)


def _unsatisfiable(size: int) -> HTTPException:
    return http_error(
        416, f"the range asks for bytes past the end ({size})", {"Content-Range": f"bytes */{size}"}
    )


def _file_blocks(path: Path, start: int, stop: int) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(start)
        while start < stop:
            block = handle.read(min(BLOCK, stop - start))
            if not block:
                return
            start += len(block)
            yield block
