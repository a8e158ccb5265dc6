"""A store folder served read-only by nginx: the configuration, and a runner on a loopback port.

Any static server can serve a store for pulls (docs/STORE.md); this is the one thrifty's tests
and transfer benchmark use, and its configuration is a starting point for a real deployment
(nginx answers Range and If-Range and gives strong ETags on its own).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from thrifty.errors import StoreError

CONFIG = """
daemon off;
user root;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 256; }}
http {{
    log_format sent '$uri $status $body_bytes_sent';
    access_log {access_log};
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    sendfile on;
    tcp_nopush on;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ limit_except GET HEAD {{ deny all; }} }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen | None = None, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise StoreError(f"the server exited with status {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise StoreError(f"nothing listens on 127.0.0.1:{port} after {seconds} s")


@contextlib.contextmanager
def nginx(root: str | Path, access_log: Path | None = None) -> Iterator[str]:
    """Serve ``root`` read-only on a free loopback port; yields the base URL. ``access_log``
    gets a line a request: the path, the status and the body bytes sent."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        raise StoreError("nginx is not installed: apt-get install nginx-light")
    with tempfile.TemporaryDirectory(prefix="thrifty-nginx-") as prefix:
        port = free_port()
        config = Path(prefix) / "nginx.conf"
        root = Path(root).resolve()
        log = f"{access_log} sent" if access_log else "off"
        config.write_text(CONFIG.format(prefix=prefix, port=port, root=root, access_log=log))
        process = subprocess.Popen(
            [binary, "-c", str(config), "-p", prefix], stderr=subprocess.DEVNULL
        )
        try:
            wait_for_port(port, process)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(10)
