"""Writing: PUT of chunks, manifests and tags behind the bearer token, with the body's size
capped and its arrival timed, and each upload checked before it is stored."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from thrifty.atomic import write_atomic
from thrifty.errors import ManifestError, StoreError
from thrifty.ship.layout import check_name, manifest_path
from thrifty.ship.manifest import MAX_CHUNK_BYTES, MAX_MANIFEST_BYTES, Manifest
from thrifty.ship.server.folder import H2, Name, Sha256, Store, http_error, store_of

MAX_TAG_BYTES = 4096

Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(HTTPBearer(auto_error=False))]


def _authorize(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Store:
    """The store, if the request may write to it. A refused request whose declared body is
    within the limit keeps its connection (the server drains the body), so the client reads
    the refusal rather than a reset; any other is answered and the connection closed."""
    store = store_of(request)
    declared = request.headers.get("content-length", "")
    close = not (declared.isascii() and declared.isdigit() and int(declared) <= store.max_body)
    if store.token is None:
        raise http_error(403, "read-only server: it was started without a token", close=close)
    given = credentials.credentials.encode("latin-1") if credentials else b""
    if not hmac.compare_digest(given, store.token.encode("utf-8")):
        raise http_error(
            401,
            "a valid 'Authorization: Bearer <token>' is required",
            {"WWW-Authenticate": "Bearer"},
            close=close,
        )
    return store


def _target(store: Store, relative: str) -> Path:
    path = store.inside(relative)
    if path is None:
        raise http_error(404, f"{relative} is not a path of this store", close=True)
    return path


async def read_body(request: Request, limit: int, timeout: float) -> bytes:
    """The request's body: 413 past ``limit`` bytes (before reading, when Content-Length says
    so), 408 if it has not all come within ``timeout`` seconds."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            raise http_error(400, f"Content-Length {declared!r} is not a number", close=True)
        if len(declared) > 18 or int(declared) > limit:
            raise http_error(
                413, f"a body of {declared} bytes is over the {limit} allowed", close=True
            )
    parts, size = [], 0
    try:
        async with asyncio.timeout(timeout):
            async for part in request.stream():
                size += len(part)
                if size > limit:
                    raise http_error(413, f"the body is over the {limit} bytes allowed", close=True)
                parts.append(part)
    except TimeoutError:
        raise http_error(408, f"the body did not arrive within {timeout:g} s", close=True) from None
    except ClientDisconnect:
        raise http_error(400, "the client went away before its body ended", close=True) from None
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
        raise http_error(400, f"the body's SHA-256 is {actual}, not the address {sha256}")
    if path.is_file():
        return 200  # chunks are immutable: the one there already has these bytes
    write_atomic(path, body)
    return 201


def _store_manifest(store: Store, path: Path, name: str, version: str, body: bytes) -> int:
    try:
        manifest = Manifest.from_bytes(body)
    except ManifestError as error:
        raise http_error(400, str(error)) from None
    if (manifest.name, manifest.version) != (name, version):
        raise http_error(
            400,
            f"the manifest is {manifest.name}@{manifest.version}, "
            f"but its path says {name}@{version}",
        )
    with store.lock:  # versions are immutable: no other manifest between the check and the write
        if path.exists():
            if _same_file(path, body, manifest):
                return 200
            raise http_error(
                409,
                f"{name}@{version} exists with other bytes; versions are "
                "immutable: push this one under another version",
            )
        missing = store.missing_objects(manifest)
        if missing:
            raise http_error(
                409,
                f"{len(missing)} of the manifest's chunks and deltas are not in the store "
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
    version = tag_version(body)
    if store.file(manifest_path(name, version)) is None:
        raise http_error(409, f"{name}@{version} has no manifest: push the version before its tag")
    existed = path.exists()
    write_atomic(path, (json.dumps({"version": version}) + "\n").encode())
    return 200 if existed else 201


def tag_version(body: bytes) -> str:
    """The version a tag's body names: 400 unless it is ``{"version": "<version>"}``."""
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise http_error(400, 'a tag must be the JSON {"version": "<version>"}') from None
    if not isinstance(document, dict) or set(document) != {"version"}:
        raise http_error(400, 'a tag must be the JSON {"version": "<version>"}')
    try:
        return check_name(document["version"], "version")
    except StoreError as error:
        raise http_error(400, str(error)) from None
