"""A static HTTP server over a store folder whose answers a test can spoil, one request at a
time: the fault-injecting server of the reliability tests (docs/STORE.md, Pull).

It answers GET and HEAD like nginx: a strong ETag, single ``Range: bytes=a-`` and ``bytes=a-b``
requests with 206, ``If-Range`` honoured. ``server.spoil(path, *faults)`` queues faults for the
next requests of ``path`` (one fault each):

- ``"cut"``: promise the whole body, send half of it, close the connection;
- ``"flip"``: flip one bit of the body;
- ``"ignore-range"``: answer a Range request with 200 and the whole body;
- ``"new-etag"``: from now on give the object another ETag, as if it had changed;
- ``"slow"``: send the body 16 KiB at a time, 20 ms apart;
- ``"refuse-range"``: answer a Range request with 416.

``server.requests`` records (path, Range, If-Range, status, bytes sent) for every request, once
its answer is sent; ``server.settled()`` waits until no answer is being sent, so that a test
that has just read a body sees that request's record.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import defaultdict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class FaultyServer:
    def __init__(self, root: Path):
        self.root = root
        self.faults: dict[str, deque[str]] = defaultdict(deque)
        self.generation: dict[str, int] = defaultdict(int)
        self.requests: list[tuple[str, str | None, str | None, int, int]] = []
        self.lock = threading.Lock()
        self.active = 0  # answers being sent
        self.idle = threading.Condition(self.lock)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def spoil(self, path: str, *faults: str) -> None:
        with self.lock:
            self.faults[path].extend(faults)

    def next_fault(self, path: str) -> str | None:
        with self.lock:
            fault = self.faults[path].popleft() if self.faults[path] else None
            if fault == "new-etag":
                self.generation[path] += 1
            return fault

    def etag(self, path: str, body: bytes) -> str:
        digest = hashlib.sha256(body).hexdigest()[:32]
        return f'"{digest}-{self.generation[path]}"'

    def etag_of(self, chunk) -> str:
        """The ETag this server gives ``chunk`` (a manifest's Chunk) now."""
        path = f"chunks/{chunk.sha256[:2]}/{chunk.sha256}"
        return self.etag(path, (self.root / path).read_bytes())

    def settled(self, seconds: float = 10) -> list[tuple[str, str | None, str | None, int, int]]:
        """The records, once every answer under way has been sent."""
        with self.idle:
            self.idle.wait_for(lambda: self.active == 0, seconds)
        return self.requests

    def fetched(self, path: str) -> int:
        """Body bytes sent for ``path`` so far."""
        return sum(sent for p, *_, sent in self.requests if p == path)

    def __enter__(self) -> FaultyServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _handler(server: FaultyServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet
            pass

        def do_HEAD(self) -> None:
            self.answer(head=True)

        def do_GET(self) -> None:
            self.answer(head=False)

        def answer(self, head: bool) -> None:
            with server.lock:
                server.active += 1
            try:
                self.send(head)
            finally:
                with server.idle:
                    server.active -= 1
                    server.idle.notify_all()

        def send(self, head: bool) -> None:
            path = self.path.lstrip("/")
            file = server.root / path
            if ".." in path or not file.is_file():
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                server.requests.append((path, None, None, 404, 0))
                return
            body = file.read_bytes()
            fault = server.next_fault(path)
            etag = server.etag(path, body)
            ranged = self.headers.get("Range")
            if_range = self.headers.get("If-Range")
            honoured = ranged and fault != "ignore-range" and (if_range is None or if_range == etag)
            start, end = 0, len(body)
            if honoured:
                first, _, last = ranged.removeprefix("bytes=").partition("-")
                start, end = int(first), min(end, int(last) + 1) if last else end
            status = 206 if honoured else 200
            if start >= len(body) > 0 or (ranged and fault == "refuse-range"):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                server.requests.append((path, ranged, if_range, 416, 0))
                return
            part = body[start:end]
            if fault == "flip":
                part = bytes([part[0] ^ 1]) + part[1:]
            self.send_response(status)
            self.send_header("ETag", etag)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(len(part)))
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(body)}")
            self.end_headers()
            if head:
                server.requests.append((path, ranged, if_range, status, 0))
                return
            if fault == "cut":
                part = part[: len(part) // 2]
                self.close_connection = True
            step = 16 * 1024 if fault == "slow" else max(1, len(part))
            for at in range(0, len(part), step):
                self.wfile.write(part[at : at + step])
                self.wfile.flush()
                if fault == "slow":
                    time.sleep(0.02)
            server.requests.append((path, ranged, if_range, status, len(part)))

    return Handler
