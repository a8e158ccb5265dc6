"""thrifty serve (docs/STORE.md, "Serving"): reads with ETags and ranges, checked uploads behind a
token, /list, paths that try to leave the store, body limits and a stalled client, and a fuzz of
the app's own OpenAPI spec.

Most tests talk to the app in-process (TestClient); those about the wire (raw request targets, a
chunked body, a client that stalls) start uvicorn on a loopback port.
"""

from __future__ import annotations

import hashlib
import json
import select
import socket
import time
import warnings
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from thrifty.ship.layout import chunk_path, manifest_path, tag_path
from thrifty.ship.manifest import MAX_CHUNK_BYTES, Chunk, Manifest
from thrifty.ship.server import create_app, running
from thrifty.ship.server.reading import byte_range

with warnings.catch_warnings():  # starlette 1.x asks for httpx2; this project pins httpx
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.timeout(120)

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DATA = b"hello world"  # 11 bytes
SHA = hashlib.sha256(DATA).hexdigest()
SECRET = b"outside the store"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put_file(root: Path, relative: str, data: bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def manifest_for(name: str, version: str, *pieces: bytes, created: str = "2026-11-28T01:10:00Z"):
    chunks = tuple(Chunk(sha256(piece), len(piece)) for piece in pieces)
    whole = b"".join(pieces)
    return Manifest(name, version, len(whole), sha256(whole), "fastcdc", chunks, created)


@pytest.fixture
def root(tmp_path) -> Path:
    (tmp_path / "secret.txt").write_bytes(SECRET)  # beside the store, never inside it
    return tmp_path / "store"


@pytest.fixture
def client(root) -> TestClient:
    with TestClient(create_app(root, TOKEN, max_body=64 * 2**10)) as test_client:
        yield test_client


@pytest.fixture
def chunk(root) -> str:
    put_file(root, chunk_path(SHA), DATA)
    return "/" + chunk_path(SHA)


def assert_error(response, status: int) -> str:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail
    return detail


# Reading


def test_get_and_head_a_chunk(client, chunk):
    response = client.get(chunk)
    assert response.status_code == 200
    assert response.content == DATA
    assert response.headers["etag"] == f'"{SHA}"'
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-length"] == "11"
    assert response.headers["content-type"] == "application/octet-stream"
    head = client.head(chunk)
    assert head.status_code == 200
    assert head.content == b""
    for name in ("etag", "accept-ranges", "content-length", "content-type"):
        assert head.headers[name] == response.headers[name]


def test_manifest_and_tag_etags_are_the_sha256_of_their_bytes(client, root):
    data = manifest_for("fashion", "2", DATA).to_bytes()
    put_file(root, manifest_path("fashion", "2"), data)
    tag_bytes = b'{"version": "2"}\n'
    put_file(root, tag_path("fashion", "latest"), tag_bytes)
    response = client.get("/manifests/fashion/2.json")
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["etag"] == f'"{sha256(data)}"'
    assert response.headers["content-type"] == "application/json"
    tag = client.get("/tags/fashion/latest.json")
    assert tag.json() == {"version": "2"}
    assert tag.headers["etag"] == f'"{sha256(tag_bytes)}"'


@pytest.mark.parametrize(
    "path",
    [
        "/chunks/ab/" + "0" * 64,  # h2 is not the address's first two digits
        "/chunks/" + SHA[:2] + "/" + SHA[:-1],
        "/chunks/" + SHA[:2] + "/" + SHA.upper(),
        "/manifests/fashion/9.json",  # valid but absent
        "/manifests/.hidden/1.json",
        "/manifests/a..b/1.json",
        "/tags/fashion/latest",
        "/chunks",
        "/nothing/here",
        "/",
    ],
)
def test_paths_outside_the_layout_are_404(client, chunk, path):
    assert_error(client.get(path), 404)
    assert client.head(path).status_code == 404


def test_other_methods_are_405(client, chunk):
    response = client.delete(chunk)
    assert_error(response, 405)
    assert response.headers["allow"] == "GET, HEAD, PUT"
    assert client.post("/list").status_code == 405


@pytest.mark.parametrize(
    ("header", "status", "body", "content_range"),
    [
        ("bytes=2-4", 206, b"llo", "bytes 2-4/11"),
        ("bytes=6-", 206, b"world", "bytes 6-10/11"),
        ("bytes=-5", 206, b"world", "bytes 6-10/11"),
        ("bytes=-100", 206, DATA, "bytes 0-10/11"),  # a suffix longer than the chunk: all of it
        ("bytes=3-1000", 206, b"lo world", "bytes 3-10/11"),  # a last byte past the end
        ("bytes=10-10", 206, b"d", "bytes 10-10/11"),
        ("Bytes=0-0", 206, b"h", "bytes 0-0/11"),  # the unit is case-insensitive
        ("bytes=0-1,3-4", 200, DATA, None),  # several ranges: ignored
        ("bytes=0-1, 3-4", 200, DATA, None),
        ("bytes=4-2", 200, DATA, None),  # invalid: ignored
        ("bytes=x-y", 200, DATA, None),
        ("bytes=", 200, DATA, None),
        ("items=0-1", 200, DATA, None),  # a unit we do not know
        ("bytes=" + "9" * 40 + "-", 200, DATA, None),  # a number too long to take seriously
    ],
)
def test_single_ranges(client, chunk, header, status, body, content_range):
    response = client.get(chunk, headers={"Range": header})
    assert response.status_code == status
    assert response.content == body
    assert response.headers["content-length"] == str(len(body))
    assert response.headers.get("content-range") == content_range
    assert response.headers["etag"] == f'"{SHA}"'


@pytest.mark.parametrize("header", ["bytes=11-", "bytes=11-20", "bytes=100-", "bytes=-0"])
def test_unsatisfiable_ranges_are_416(client, chunk, header):
    response = client.get(chunk, headers={"Range": header})
    assert_error(response, 416)
    assert response.headers["content-range"] == "bytes */11"


def test_a_range_of_a_manifest(client, root):
    data = manifest_for("fashion", "2", DATA).to_bytes()
    put_file(root, manifest_path("fashion", "2"), data)
    response = client.get("/manifests/fashion/2.json", headers={"Range": "bytes=-10"})
    assert response.status_code == 206
    assert response.content == data[-10:]
    size = len(data)
    assert response.headers["content-range"] == f"bytes {size - 10}-{size - 1}/{size}"


@pytest.mark.parametrize(
    ("if_range", "status"),
    [
        (f'"{SHA}"', 206),  # the current strong ETag: the range is sent
        ('"' + "0" * 64 + '"', 200),  # another ETag: everything
        (f'W/"{SHA}"', 200),  # a weak ETag never matches
        ("Sat, 28 Nov 2026 01:10:00 GMT", 200),  # nor does a date
        (SHA, 200),  # nor an unquoted one
    ],
)
def test_if_range(client, chunk, if_range, status):
    response = client.get(chunk, headers={"Range": "bytes=6-", "If-Range": if_range})
    assert response.status_code == status
    assert response.content == (b"world" if status == 206 else DATA)


def test_head_ignores_the_range(client, chunk):
    response = client.head(chunk, headers={"Range": "bytes=2-4"})
    assert response.status_code == 200
    assert response.headers["content-length"] == "11"
    assert "content-range" not in response.headers


def test_a_large_chunk_streams_whole_and_in_ranges(client, root):
    data = bytes(range(256)) * (3 * 2**20 // 256 + 7)  # over three blocks of 1 MiB
    address = sha256(data)
    put_file(root, chunk_path(address), data)
    assert client.get("/" + chunk_path(address)).content == data
    start = 2**20 - 5
    response = client.get("/" + chunk_path(address), headers={"Range": f"bytes={start}-"})
    assert response.status_code == 206
    assert response.content == data[start:]


@settings(max_examples=300, deadline=None)
@given(
    header=st.one_of(
        st.text(max_size=30),
        st.builds(
            "bytes={}-{}".format,
            st.integers(0, 50) | st.just(""),
            st.integers(0, 50) | st.just(""),
        ),
    ),
    size=st.integers(0, 40),
)
def test_byte_range_gives_a_slice_inside_the_body_or_416(header, size):
    try:
        span = byte_range(header, size)
    except Exception as error:
        assert getattr(error, "status_code", None) == 416
        assert error.headers["Content-Range"] == f"bytes */{size}"
        return
    if span is not None:
        start, stop = span
        assert 0 <= start < stop <= size


def expected_answer(first: int | None, last: int | None) -> tuple[int, bytes]:
    """What RFC 9110 makes of ``bytes=<first>-<last>`` on DATA: (status, body)."""
    if first is None and last is None:
        return 200, DATA  # "bytes=-" does not parse
    if first is None:
        return (416, b"") if last == 0 else (206, DATA[-last:])
    if last is not None and last < first:
        return 200, DATA
    if first >= len(DATA):
        return 416, b""
    return 206, DATA[first : None if last is None else last + 1]


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(first=st.integers(0, 14) | st.none(), last=st.integers(0, 14) | st.none())
def test_any_single_range_answers_a_true_slice(client, chunk, first, last):
    header = f"bytes={'' if first is None else first}-{'' if last is None else last}"
    response = client.get(chunk, headers={"Range": header})
    status, body = expected_answer(first, last)
    assert response.status_code == status
    if status == 416:
        assert response.headers["content-range"] == "bytes */11"
    else:
        assert response.content == body
    if status == 206:
        start = len(DATA) - len(body) if first is None else first
        assert response.headers["content-range"] == f"bytes {start}-{start + len(body) - 1}/11"


# Writing


def test_put_a_chunk(client, root):
    address = "/" + chunk_path(SHA)
    response = client.put(address, content=DATA, headers=AUTH)
    assert response.status_code == 201
    assert (root / chunk_path(SHA)).read_bytes() == DATA
    mtime = (root / chunk_path(SHA)).stat().st_mtime_ns
    again = client.put(address, content=DATA, headers=AUTH)
    assert again.status_code == 200  # idempotent: nothing rewritten
    assert (root / chunk_path(SHA)).stat().st_mtime_ns == mtime
    assert client.get(address).content == DATA


def test_a_chunk_whose_bytes_do_not_hash_to_its_address_is_400(client, root):
    other = "0" * 64
    detail = assert_error(client.put("/" + chunk_path(other), content=DATA, headers=AUTH), 400)
    assert SHA in detail
    assert not (root / "chunks").exists() or not any((root / "chunks").rglob("*"))


def test_a_chunk_over_16_mib_is_413(root):
    data = b"x" * (MAX_CHUNK_BYTES + 1)
    with TestClient(create_app(root, TOKEN, max_body=64 * 2**20)) as big:
        response = big.put("/" + chunk_path(sha256(data)), content=data, headers=AUTH)
    assert_error(response, 413)
    assert not (root / chunk_path(sha256(data))).exists()


def test_a_manifest_needs_all_its_chunks(client, root):
    pieces = [b"first piece", b"second piece", b"third piece"]
    manifest = manifest_for("fashion", "2", *pieces)
    client.put("/" + chunk_path(sha256(pieces[0])), content=pieces[0], headers=AUTH)
    path = "/" + manifest_path("fashion", "2")
    detail = assert_error(client.put(path, content=manifest.to_bytes(), headers=AUTH), 409)
    assert detail.startswith("2 of the manifest's chunks")
    assert not (root / manifest_path("fashion", "2")).exists()
    for piece in pieces[1:]:
        client.put("/" + chunk_path(sha256(piece)), content=piece, headers=AUTH)
    response = client.put(path, content=manifest.to_bytes(), headers=AUTH)
    assert response.status_code == 201
    assert client.get(path).content == manifest.to_bytes()


def test_versions_are_immutable(client, root):
    for piece in (b"one", b"two"):
        put_file(root, chunk_path(sha256(piece)), piece)
    first = manifest_for("fashion", "2", b"one")
    path = "/" + manifest_path("fashion", "2")
    assert client.put(path, content=first.to_bytes(), headers=AUTH).status_code == 201
    assert client.put(path, content=first.to_bytes(), headers=AUTH).status_code == 200
    # the same file pushed again, at another time: the same version, nothing changes
    later = manifest_for("fashion", "2", b"one", created="2027-01-01T00:00:00Z")
    assert client.put(path, content=later.to_bytes(), headers=AUTH).status_code == 200
    other = manifest_for("fashion", "2", b"two")
    detail = assert_error(client.put(path, content=other.to_bytes(), headers=AUTH), 409)
    assert "immutable" in detail
    assert (root / manifest_path("fashion", "2")).read_bytes() == first.to_bytes()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not UTF-8 JSON"),
        (b"\xff\xfe", "not UTF-8 JSON"),
        (b"[]", "not a JSON object"),
        (b'{"format": "thrifty-manifest"}', "format"),
        (manifest_for("other", "2", DATA).to_bytes(), "path says fashion@2"),
        (manifest_for("fashion", "3", DATA).to_bytes(), "path says fashion@2"),
    ],
)
def test_an_invalid_manifest_is_400(client, chunk, body, message):
    path = "/" + manifest_path("fashion", "2")
    assert message in assert_error(client.put(path, content=body, headers=AUTH), 400)


def test_tags(client, root, chunk):
    path = "/" + tag_path("fashion", "latest")
    body = json.dumps({"version": "2"}).encode()
    detail = assert_error(client.put(path, content=body, headers=AUTH), 409)
    assert "fashion@2" in detail
    manifest = manifest_for("fashion", "2", DATA).to_bytes()
    assert client.put("/" + manifest_path("fashion", "2"), content=manifest, headers=AUTH)
    assert client.put(path, content=body, headers=AUTH).status_code == 201
    assert client.get(path).json() == {"version": "2"}
    put_file(root, manifest_path("fashion", "3"), manifest_for("fashion", "3", DATA).to_bytes())
    moved = client.put(path, content=b'{"version": "3"}', headers=AUTH)
    assert moved.status_code == 200
    assert client.get(path).json() == {"version": "3"}


@pytest.mark.parametrize(
    "body",
    [b"2", b'"2"', b"{}", b'{"version": 2}', b'{"version": "../2"}', b'{"version": "2", "x": 1}'],
)
def test_an_invalid_tag_is_400(client, body):
    assert_error(client.put("/" + tag_path("fashion", "latest"), content=body, headers=AUTH), 400)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
    ],
)
def test_a_put_without_the_token_is_401(client, root, headers):
    response = client.put("/" + chunk_path(SHA), content=DATA, headers=headers)
    assert_error(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
    assert TOKEN not in response.text
    assert not (root / chunk_path(SHA)).exists()


@pytest.mark.parametrize("token", [None, ""])
def test_a_server_without_a_token_is_read_only(root, chunk, token):
    with TestClient(create_app(root, token)) as read_only:
        for headers in ({}, AUTH, {"Authorization": "Bearer "}):
            response = read_only.put("/" + chunk_path(SHA), content=DATA, headers=headers)
            assert "read-only" in assert_error(response, 403)
        assert read_only.get(chunk).content == DATA


def test_a_body_over_the_limit_is_413(client, root):
    data = b"x" * (64 * 2**10 + 1)
    response = client.put("/" + chunk_path(sha256(data)), content=data, headers=AUTH)
    assert_error(response, 413)
    assert response.headers["connection"] == "close"

    def blocks():  # no Content-Length: the body comes chunked
        for _ in range(65):
            yield b"y" * 2**10

    data = b"y" * 65 * 2**10
    response = client.put("/" + chunk_path(sha256(data)), content=blocks(), headers=AUTH)
    assert "content-length" not in response.request.headers
    assert_error(response, 413)
    assert not (root / chunk_path(sha256(data))).exists()


def test_a_bad_content_length_is_400(client):
    for value in ("²".encode("latin-1"), b"+11", b"0x0b"):
        headers = {**AUTH, "Content-Length": value}
        response = client.put("/" + chunk_path(SHA), content=DATA, headers=headers)
        assert_error(response, 400)


# Paths that try to leave the store


@pytest.mark.parametrize(
    "path",
    [
        "/chunks/../../etc/passwd",
        "/chunks/../../secret.txt",
        "/manifests/%2e%2e/x.json",
        "/manifests/%2E%2E/secret.json",
        "/manifests/a%2Fb/c.json",
        "/manifests/..%2F..%2Fsecret/x.json",
        "/manifests/%252e%252e/x.json",
        "/tags/x/..%2F..%2F..%2Fsecret.txt%00.json",
        "/tags/%2e%2e/%2e%2e.json",
        "/chunks/%2e%2e/%2e%2e",
    ],
)
def test_traversal_in_process(client, path):
    for method in ("GET", "HEAD", "PUT"):
        response = client.request(method, path, content=b"x", headers=AUTH)
        assert response.status_code in (400, 404), (method, path, response.status_code)
        assert SECRET not in response.content


def test_a_symlink_inside_the_root_that_points_out_is_404(client, root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / SHA).write_bytes(DATA)
    manifest = manifest_for("evil", "1", DATA).to_bytes()
    (outside / "1.json").write_bytes(manifest)
    # a file that is a symlink out, and a folder that is one
    (root / "manifests" / "evil").mkdir(parents=True)
    (root / "manifests" / "evil" / "1.json").symlink_to(outside / "1.json")
    (root / "tags" / "evil").mkdir(parents=True)
    (root / "tags" / "evil" / "latest.json").symlink_to(tmp_path / "secret.txt")
    (root / "chunks").mkdir()
    (root / "chunks" / SHA[:2]).symlink_to(outside, target_is_directory=True)
    for path in ("/manifests/evil/1.json", "/tags/evil/latest.json", "/" + chunk_path(SHA)):
        assert_error(client.get(path), 404)
        assert client.head(path).status_code == 404
        assert client.get(path, headers={"Range": "bytes=0-"}).status_code == 404
    # nor is anything written through them
    assert_error(client.put("/" + chunk_path(SHA), content=DATA, headers=AUTH), 404)
    tag = b'{"version": "1"}'
    assert_error(client.put("/tags/evil/latest.json", content=tag, headers=AUTH), 404)
    assert (tmp_path / "secret.txt").read_bytes() == SECRET
    assert sorted(p.name for p in outside.iterdir()) == sorted([SHA, "1.json"])
    assert client.get("/list").json() == {"manifests": [], "tags": []}


def test_a_symlink_that_stays_inside_is_followed(client, root, chunk):
    (root / "manifests" / "fashion").mkdir(parents=True)
    put_file(root, "elsewhere/2.json", manifest_for("fashion", "2", DATA).to_bytes())
    (root / "manifests" / "fashion" / "2.json").symlink_to(root / "elsewhere" / "2.json")
    assert client.get("/manifests/fashion/2.json").status_code == 200


# Listing


def test_list(client, root):
    for name, version in [("zeta", "1"), ("alpha", "2"), ("alpha", "10")]:
        data = manifest_for(name, version, DATA).to_bytes()
        put_file(root, manifest_path(name, version), data)
    put_file(root, manifest_path("broken", "1"), b"{not json")
    put_file(root, manifest_path("moved", "1"), manifest_for("other", "1", DATA).to_bytes())
    put_file(root, "manifests/alpha/.hidden.json", b"{}")
    put_file(root, tag_path("alpha", "latest"), b'{"version": "2"}\n')
    put_file(root, tag_path("alpha", "bad"), b"nonsense")
    put_file(root, tag_path("zeta", "stable"), b'{"version": "1"}\n')
    response = client.get("/list")
    assert response.status_code == 200
    listing = response.json()
    entry = manifest_for("alpha", "10", DATA)
    assert listing["manifests"] == [
        {
            "name": name,
            "version": version,
            "size": entry.size,
            "sha256": entry.sha256,
            "created": entry.created,
        }
        for name, version in [("alpha", "10"), ("alpha", "2"), ("zeta", "1")]
    ]
    assert listing["tags"] == [
        {"name": "alpha", "tag": "latest", "version": "2"},
        {"name": "zeta", "tag": "stable", "version": "1"},
    ]


def test_an_empty_store_lists_nothing_and_is_created(tmp_path):
    root = tmp_path / "new" / "store"
    with TestClient(create_app(root, None)) as fresh:
        assert fresh.get("/list").json() == {"manifests": [], "tags": []}
    assert root.is_dir()


# Over the wire: uvicorn on a loopback port


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """(port, root) of a real server with a 64 KiB body limit and a 1 s read timeout."""
    base = tmp_path_factory.mktemp("live")
    (base / "secret.txt").write_bytes(SECRET)
    root = base / "store"
    put_file(root, chunk_path(SHA), DATA)
    app = create_app(root, TOKEN, max_body=64 * 2**10, read_timeout=1.0)
    with running(app, timeout_keep_alive=5) as url:
        yield int(url.rsplit(":", 1)[1]), root


def exchange(port: int, *sends: bytes, wait: float = 5.0) -> tuple[bytes, float, bool]:
    """Send ``sends`` on one connection; read until the server closes it or ``wait`` seconds
    pass. Returns what came back, the seconds until its first byte, and whether it closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as connection:
        for data in sends:
            connection.sendall(data)
        started, received, first, closed = time.monotonic(), b"", None, False
        while time.monotonic() - started < wait:
            ready, _, _ = select.select([connection], [], [], 0.1)
            if not ready:
                continue
            block = connection.recv(65536)
            if not block:
                closed = True
                break
            first = first if first is not None else time.monotonic() - started
            received += block
        return received, first if first is not None else wait, closed


def request_head(method: str, target: str, *headers: str) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", *headers, "", ""]
    return "\r\n".join(lines).encode()


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def test_live_get(live):
    port, _ = live
    target = "/" + chunk_path(SHA)
    response, _, _ = exchange(port, request_head("GET", target, "Connection: close"))
    assert status_of(response) == 200
    assert response.endswith(b"\r\n\r\n" + DATA)
    response, _, _ = exchange(port, request_head("HEAD", target, "Connection: close"))
    assert status_of(response) == 200
    assert b"content-length: 11\r\n" in response.lower()
    assert response.endswith(b"\r\n\r\n")


@pytest.mark.parametrize(
    "target",
    [
        "/chunks/../../etc/passwd",
        "/chunks/../secret.txt",
        "/chunks/%2e%2e/secret.txt",
        "/manifests/../../secret.txt",
        "/manifests/%2e%2e/x.json",
        "/manifests/a%2Fb/c.json",
        "/manifests/..%2F..%2Fsecret.txt%23/x.json",
        "/manifests/%252e%252e/x.json",
        "/tags/%2e%2e/%2e%2e%2fsecret.json",
        "/../secret.txt",
        "//secret.txt",
    ],
)
def test_live_traversal(live, target):
    port, _ = live
    response, _, _ = exchange(port, request_head("GET", target, "Connection: close"))
    assert status_of(response) in (400, 404)
    assert SECRET not in response


def test_live_stalled_body_is_408_and_dropped(live):
    port, root = live
    data = b"0123456789"
    address = chunk_path(sha256(data))
    head = request_head("PUT", "/" + address, f"Authorization: Bearer {TOKEN}",
                        "Content-Length: 100")  # fmt: skip
    started = time.monotonic()
    response, first, closed = exchange(port, head, data, wait=8.0)
    assert status_of(response) == 408
    assert 0.9 <= first <= 5.0, first
    assert closed
    assert time.monotonic() - started < 8.0
    assert not (root / address).exists()


def test_live_chunked_body_over_the_limit_is_413_before_it_ends(live):
    port, _ = live
    head = request_head("PUT", "/" + chunk_path("0" * 64), f"Authorization: Bearer {TOKEN}",
                        "Transfer-Encoding: chunked")  # fmt: skip
    piece = b"4000\r\n" + b"z" * 0x4000 + b"\r\n"  # 16 KiB; five of them pass 64 KiB
    response, first, closed = exchange(port, head, *[piece] * 5, wait=5.0)  # and no last chunk
    assert status_of(response) == 413  # not 408: the limit, not the timeout, ended it
    assert first < 0.9
    assert closed


def test_live_put(live):
    port, root = live
    data = b"uploaded over the wire"
    target = "/" + chunk_path(sha256(data))
    head = request_head("PUT", target, f"Authorization: Bearer {TOKEN}",
                        f"Content-Length: {len(data)}", "Connection: close")  # fmt: skip
    response, _, _ = exchange(port, head, data)
    assert status_of(response) == 201
    assert (root / chunk_path(sha256(data))).read_bytes() == data


# The OpenAPI spec, fuzzed: no 5xx, and every answer is one the spec describes

OPERATIONS = [
    (method, path)
    for path in (
        "/chunks/{h2}/{sha256}",
        "/manifests/{name}/{version}.json",
        "/tags/{name}/{tag}.json",
    )
    for method in ("GET", "HEAD", "PUT")
] + [("GET", "/list")]
PRESENT = {  # path parameters of what the fuzzed store holds, so that some requests find it
    "/chunks/{h2}/{sha256}": {"h2": SHA[:2], "sha256": SHA},
    "/manifests/{name}/{version}.json": {"name": "fashion", "version": "2"},
    "/tags/{name}/{tag}.json": {"name": "fashion", "tag": "latest"},
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def schema(tmp_path):
    root = tmp_path / "store"
    put_file(root, chunk_path(SHA), DATA)
    put_file(root, manifest_path("fashion", "2"), manifest_for("fashion", "2", DATA).to_bytes())
    put_file(root, tag_path("fashion", "latest"), b'{"version": "2"}\n')
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(root, TOKEN))


def test_the_spec_describes_every_operation(schema):
    described = [(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()]
    assert sorted(described) == sorted(OPERATIONS)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[" ".join(o) for o in OPERATIONS])
def test_openapi_fuzz(schema, method, path):
    # schemathesis.pytest.from_fixture would do this, but it sets pytest's private
    # Node._nodeid, which pytest 9 no longer has; so each operation's cases are drawn here.
    operation = schema[path][method]
    cases = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    if path in PRESENT:
        cases.append(operation.as_strategy(path_parameters=PRESENT[path]))
    statuses = Counter()

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=st.one_of(cases))
    def fuzz(case):
        statuses[case.call_and_validate(headers=AUTH, checks=CHECKS).status_code] += 1

    fuzz()
    if method != "PUT":  # the store's own files were found too, not only 404s
        assert set(statuses) - {404}, statuses
