"""The app: ``create_app`` builds it over a store folder, with its routes and what the OpenAPI
spec says of them; ``serve`` runs it with its limits (concurrency, keep-alive, no access log);
``running`` runs it in a background thread for tests and benchmarks."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel

from thrifty.errors import StoreError
from thrifty.ship.layout import NAME
from thrifty.ship.server.folder import Store, http_error
from thrifty.ship.server.listing import Listing, get_list
from thrifty.ship.server.reading import get_chunk, get_manifest, get_tag
from thrifty.ship.server.writing import put_chunk, put_manifest, put_tag


class Detail(BaseModel):
    detail: str


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


# The routes, and what the OpenAPI spec says of them


OTHER_METHODS = ["POST", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"]  # answered 405


async def _method_not_allowed(request: Request) -> Response:
    raise http_error(405, f"{request.method} is not allowed here", {"Allow": "GET, HEAD, PUT"})


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
