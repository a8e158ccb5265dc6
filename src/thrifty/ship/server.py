"""The HTTP server behind ``thrifty serve STORE`` (docs/STORE.md, "Serving").

Reading a store needs only static GETs, so any web server can serve one; this one adds what a
static server cannot: uploads behind a token that store a chunk only when its bytes hash to its
address and a manifest only when every chunk it names is there, and ``/list`` so that ``ls`` and
``gc`` work over HTTP. Every request path is checked against the layout before the disk is
touched, and must stay inside the store's folder after symlinks are followed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import uvicorn
from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi import Path as PathParameter
from fastapi.responses import Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from thrifty.atomic import write_atomic
from thrifty.errors import ManifestError, StoreError
from thrifty.ship.layout import (
    NAME,
    SHA256,
    check_name,
    chunk_path,
    manifest_path,
    parse_path,
)
from thrifty.ship.manifest import MAX_CHUNK_BYTES, MAX_MANIFEST_BYTES, Manifest

BLOCK = 2**20  # bytes read from disk at a time while sending a chunk
MAX_TAG_BYTES = 4096
IMMUTABLE = "public, max-age=31536000, immutable"  # chunks and manifests never change
RANGE = re.compile(r"bytes=(?:(\d{1,18})-(\d{0,18})|-(\d{1,18}))", re.ASCII | re.IGNORECASE)


class Detail(BaseModel):
    detail: str


class ManifestEntry(BaseModel):
    name: str
    version: str
    size: int
    sha256: str
    created: str


class TagEntry(BaseModel):
    name: str
    tag: str
    version: str


class Listing(BaseModel):
    manifests: list[ManifestEntry]
    tags: list[TagEntry]


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

    def missing_chunks(self, manifest: Manifest) -> list[str]:
        wanted = dict.fromkeys(chunk.sha256 for chunk in manifest.chunks)
        return [sha256 for sha256 in wanted if self.file(chunk_path(sha256)) is None]


def create_app(
    root: Path,
    token: str | None,
    *,
    max_body: int = 32 * 2**20,
    read_timeout: float = 30.0,
) -> FastAPI:
    """The app serving the store folder ``root`` (created if missing). Without a ``token`` (None
    or empty) every PUT is refused: a read-only server."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    app = FastAPI(
        title="thrifty store",
        summary="Chunks, manifests and tags of a thrifty store (docs/STORE.md)",
        version="1",
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,
    )
    app.state.store = Store(root.resolve(), token or None, max_body, read_timeout)
    _add_routes(app)
    return app


def serve(
    root: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8470,
    token: str | None = None,
    concurrency: int = 64,
) -> None:
    """Serve the store folder ``root`` until interrupted. No access log: it would hold tokens."""
    uvicorn.run(
        create_app(root, token),
        host=host,
        port=port,
        limit_concurrency=concurrency,
        timeout_keep_alive=15,
        log_level="warning",
        access_log=False,
    )


@contextlib.contextmanager
def running(app: FastAPI, **options: Any) -> Iterator[str]:
    """Run ``app`` under uvicorn in a background thread on a free loopback port, for tests and
    benchmarks: yields its base URL, and stops the server on leaving."""
    config = uvicorn.Config(app, log_level="warning", access_log=False, **options)
    server = uvicorn.Server(config)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.02)
    try:
        if not server.started:
            raise StoreError("the store server did not start within 10 s")
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        listener.close()


# Requests: parameters as the OpenAPI spec describes them (patterns documented, not enforced,
# so that a bad name is a 404 from the layout's own check rather than a 422).

H2 = Annotated[str, PathParameter(json_schema_extra={"pattern": "^[0-9a-f]{2}$"})]
Sha256 = Annotated[str, PathParameter(json_schema_extra={"pattern": f"^{SHA256.pattern}$"})]
Name = Annotated[str, PathParameter(json_schema_extra={"pattern": f"^{NAME.pattern}$"})]
RangeHeader = Annotated[str | None, Header(alias="range")]
IfRangeHeader = Annotated[str | None, Header(alias="if-range")]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(HTTPBearer(auto_error=False))]


def _store(request: Request) -> Store:
    return request.app.state.store


def _error(
    status: int, message: str, headers: dict[str, str] | None = None, *, close: bool = False
) -> HTTPException:
    """An HTTP error answered as ``{"detail": message}`` on one line. ``close``: drop the
    connection after answering, for a request whose body was not read to its end."""
    headers = {**(headers or {}), **({"Connection": "close"} if close else {})}
    return HTTPException(status, " ".join(message.split()), headers or None)


def _not_found(relative: str) -> HTTPException:
    return _error(404, f"{relative} is not in this store")


# Reading: GET and HEAD, with single ranges (RFC 9110)


def get_chunk(
    request: Request,
    h2: H2,
    sha256: Sha256,
    range_header: RangeHeader = None,
    if_range: IfRangeHeader = None,
) -> Response:
    relative = f"chunks/{h2}/{sha256}"
    path = _store(request).file(relative)
    if path is None:
        raise _not_found(relative)
    try:
        size = path.stat().st_size
    except OSError:
        raise _not_found(relative) from None
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
    path = _store(request).file(relative)
    if path is None:
        raise _not_found(relative)
    try:
        data = path.read_bytes()
    except OSError:
        raise _not_found(relative) from None
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
    return _error(
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


# Writing: PUT behind the token


def _authorize(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Store:
    """The store, if the request may write to it. A refused request whose declared body is
    within the limit keeps its connection (the server drains the body), so the client reads
    the refusal rather than a reset; any other is answered and the connection closed."""
    store = _store(request)
    declared = request.headers.get("content-length", "")
    close = not (declared.isascii() and declared.isdigit() and int(declared) <= store.max_body)
    if store.token is None:
        raise _error(403, "read-only server: it was started without a token", close=close)
    given = credentials.credentials.encode("latin-1") if credentials else b""
    if not hmac.compare_digest(given, store.token.encode("utf-8")):
        raise _error(
            401,
            "a valid 'Authorization: Bearer <token>' is required",
            {"WWW-Authenticate": "Bearer"},
            close=close,
        )
    return store


def _target(store: Store, relative: str) -> Path:
    path = store.inside(relative)
    if path is None:
        raise _error(404, f"{relative} is not a path of this store", close=True)
    return path


async def read_body(request: Request, limit: int, timeout: float) -> bytes:
    """The request's body: 413 past ``limit`` bytes (before reading, when Content-Length says
    so), 408 if it has not all come within ``timeout`` seconds."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            raise _error(400, f"Content-Length {declared!r} is not a number", close=True)
        if len(declared) > 18 or int(declared) > limit:
            raise _error(413, f"a body of {declared} bytes is over the {limit} allowed", close=True)
    parts, size = [], 0
    try:
        async with asyncio.timeout(timeout):
            async for part in request.stream():
                size += len(part)
                if size > limit:
                    raise _error(413, f"the body is over the {limit} bytes allowed", close=True)
                parts.append(part)
    except TimeoutError:
        raise _error(408, f"the body did not arrive within {timeout:g} s", close=True) from None
    except ClientDisconnect:
        raise _error(400, "the client went away before its body ended", close=True) from None
    return b"".join(parts)


async def put_chunk(request: Request, h2: H2, sha256: Sha256, credentials: Credentials) -> Response:
    store = _authorize(request, credentials)
    path = _target(store, f"chunks/{h2}/{sha256}")
    body = await read_body(request, min(store.max_body, MAX_CHUNK_BYTES), store.read_timeout)
    return Response(status_code=await run_in_threadpool(_store_chunk, path, sha256, body))


async def put_manifest(
    request: Request, name: Name, version: Name, credentials: Credentials
) -> Response:
    store = _authorize(request, credentials)
    path = _target(store, f"manifests/{name}/{version}.json")
    body = await read_body(request, min(store.max_body, MAX_MANIFEST_BYTES), store.read_timeout)
    status = await run_in_threadpool(_store_manifest, store, path, name, version, body)
    return Response(status_code=status)


async def put_tag(request: Request, name: Name, tag: Name, credentials: Credentials) -> Response:
    store = _authorize(request, credentials)
    path = _target(store, f"tags/{name}/{tag}.json")
    body = await read_body(request, min(store.max_body, MAX_TAG_BYTES), store.read_timeout)
    return Response(status_code=await run_in_threadpool(_store_tag, store, path, name, body))


def _store_chunk(path: Path, sha256: str, body: bytes) -> int:
    actual = hashlib.sha256(body).hexdigest()
    if actual != sha256:
        raise _error(400, f"the body's SHA-256 is {actual}, not the address {sha256}")
    if path.is_file():
        return 200  # chunks are immutable: the one there already has these bytes
    write_atomic(path, body)
    return 201


def _store_manifest(store: Store, path: Path, name: str, version: str, body: bytes) -> int:
    try:
        manifest = Manifest.from_bytes(body)
    except ManifestError as error:
        raise _error(400, str(error)) from None
    if (manifest.name, manifest.version) != (name, version):
        raise _error(
            400,
            f"the manifest is {manifest.name}@{manifest.version}, "
            f"but its path says {name}@{version}",
        )
    with store.lock:  # versions are immutable: no other manifest between the check and the write
        if path.exists():
            if _same_file(path, body, manifest):
                return 200
            raise _error(
                409,
                f"{name}@{version} exists with other bytes; versions are "
                "immutable: push this one under another version",
            )
        missing = store.missing_chunks(manifest)
        if missing:
            raise _error(
                409,
                f"{len(missing)} of the manifest's chunks are not in the store "
                f"(the first: {missing[0]}): push them first",
            )
        write_atomic(path, body)
    return 201


def _same_file(path: Path, body: bytes, manifest: Manifest) -> bool:
    """Whether the manifest at ``path`` is ``body``, or describes the same file's bytes."""
    try:
        data = path.read_bytes()
        if data == body:
            return True
        existing = Manifest.from_bytes(data)
    except (OSError, ManifestError):
        return False
    return (existing.sha256, existing.size) == (manifest.sha256, manifest.size)


def _store_tag(store: Store, path: Path, name: str, body: bytes) -> int:
    version = _tag_version(body)
    if store.file(manifest_path(name, version)) is None:
        raise _error(409, f"{name}@{version} has no manifest: push the version before its tag")
    existed = path.exists()
    write_atomic(path, (json.dumps({"version": version}) + "\n").encode())
    return 200 if existed else 201


def _tag_version(body: bytes) -> str:
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _error(400, 'a tag must be the JSON {"version": "<version>"}') from None
    if not isinstance(document, dict) or set(document) != {"version"}:
        raise _error(400, 'a tag must be the JSON {"version": "<version>"}')
    try:
        return check_name(document["version"], "version")
    except StoreError as error:
        raise _error(400, str(error)) from None


# Listing


def get_list(request: Request) -> Listing:
    """Every manifest and tag in the folder; files that do not parse are left out."""
    store = _store(request)
    return Listing(manifests=list(_manifests(store)), tags=list(_tags(store)))


def _manifests(store: Store) -> Iterator[ManifestEntry]:
    for name, version, data in _documents(store, "manifests"):
        try:
            manifest = Manifest.from_bytes(data)
        except ManifestError:
            continue
        if (manifest.name, manifest.version) == (name, version):
            yield ManifestEntry(
                name=name,
                version=version,
                size=manifest.size,
                sha256=manifest.sha256,
                created=manifest.created,
            )


def _tags(store: Store) -> Iterator[TagEntry]:
    for name, tag, data in _documents(store, "tags"):
        try:
            version = _tag_version(data)
        except HTTPException:
            continue
        yield TagEntry(name=name, tag=tag, version=version)


def _documents(store: Store, folder: str) -> Iterator[tuple[str, str, bytes]]:
    """(name, stem, bytes) of each readable ``folder/<name>/<stem>.json``, sorted."""
    found = []
    for path in (store.root / folder).glob("*/*.json"):
        name, stem = path.parent.name, path.name.removesuffix(".json")
        if store.file(f"{folder}/{name}/{path.name}") is not None:
            found.append((name, stem, path))
    for name, stem, path in sorted(found):
        try:
            yield name, stem, path.read_bytes()
        except OSError:
            continue


# The routes, and what the OpenAPI spec says of them


OTHER_METHODS = ["POST", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"]  # answered 405


async def _method_not_allowed(request: Request) -> Response:
    raise _error(405, f"{request.method} is not allowed here", {"Allow": "GET, HEAD, PUT"})


def _responses(*codes: int, ok: dict[int, dict[str, Any]] | None = None) -> dict[int, Any]:
    described = {code: {"model": Detail, "description": DESCRIPTIONS[code]} for code in codes}
    return {**(ok or {}), **described}


DESCRIPTIONS = {
    400: "The body does not fit the path: a wrong SHA-256, an invalid manifest or tag",
    401: "No valid bearer token",
    403: "A read-only server: started without a token",
    404: "No such path in the store, or one that leaves it",
    408: "The body did not arrive within the read timeout",
    409: "Missing chunks or manifest, or another manifest at an immutable version",
    413: "The body is over the limit",
    416: "The range asks for bytes past the end",
}


def _content(media_type: str, schema: dict[str, Any] | None, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {media_type: {} if schema is None else {"schema": schema}},
    }


BINARY = {"type": "string", "format": "binary"}
WRITTEN = {200: {"description": "Already there: nothing changed"}, 201: {"description": "Stored"}}
BODIES = {
    "chunk": {"application/octet-stream": {"schema": BINARY}},
    "manifest": {"application/json": {"schema": {"type": "object"}}},
    "tag": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["version"],
                "additionalProperties": False,
                "properties": {"version": {"type": "string", "pattern": f"^{NAME.pattern}$"}},
            }
        }
    },
}
SERVED = {
    "chunk": ("application/octet-stream", BINARY),
    "manifest": ("application/json", None),
    "tag": ("application/json", None),
}
READERS = {"chunk": get_chunk, "manifest": get_manifest, "tag": get_tag}
WRITERS = {"chunk": put_chunk, "manifest": put_manifest, "tag": put_tag}
PATHS = {
    "chunk": "/chunks/{h2}/{sha256}",
    "manifest": "/manifests/{name}/{version}.json",
    "tag": "/tags/{name}/{tag}.json",
}


def _add_routes(app: FastAPI) -> None:
    for kind, path in PATHS.items():
        media_type, schema = SERVED[kind]
        ok = {
            200: _content(media_type, schema, f"The whole {kind}"),
            206: _content(media_type, schema, f"One range of the {kind}"),
        }
        for method in ("GET", "HEAD"):
            app.add_api_route(
                path,
                READERS[kind],
                methods=[method],
                response_class=Response,
                operation_id=f"{method.lower()}_{kind}",
                responses=_responses(404, 416, ok=ok),
            )
        conflict = (409,) if kind != "chunk" else ()
        app.add_api_route(
            path,
            WRITERS[kind],
            methods=["PUT"],
            response_class=Response,
            operation_id=f"put_{kind}",
            status_code=201,
            responses=_responses(400, 401, 403, 404, 408, *conflict, 413, ok=WRITTEN),
            openapi_extra={"requestBody": {"required": True, "content": BODIES[kind]}},
        )
        app.add_route(path, _method_not_allowed, OTHER_METHODS, include_in_schema=False)
    app.add_api_route(
        "/list",
        get_list,
        methods=["GET"],
        response_model=Listing,
        operation_id="list",
        summary="Every manifest and tag in the store",
    )
