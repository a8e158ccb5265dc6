"""A real Ray cluster for tests: a head and a second node on this machine, each its own
processes, stopped afterwards."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from thrifty.ship.nginx import free_port, wait_for_port

RAY = str(Path(sys.executable).with_name("ray"))


@contextlib.contextmanager
def two_nodes():
    """A head node and a second node on this machine, each a ``ray start --block`` process in
    its own session (so that stopping them stops nothing else of Ray's): yields the address."""
    import ray

    port = free_port()
    temp = Path(tempfile.mkdtemp(prefix="ray-"))  # short: Ray's socket paths must stay short
    auth = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"  # a loopback test cluster: no token to share
    quiet = ["--num-cpus=1", "--disable-usage-stats", "--block"]
    nodes = [
        subprocess.Popen(
            [RAY, "start", *node, *quiet],
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for node in (
            ["--head", f"--port={port}", f"--temp-dir={temp}", "--include-dashboard=false"],
            [f"--address=127.0.0.1:{port}"],
        )
    ]
    try:
        address = f"127.0.0.1:{port}"
        wait_for_port(port, nodes[0], seconds=60)
        ray.init(address=address, log_to_driver=False)
        deadline = time.monotonic() + 60
        while len([n for n in ray.nodes() if n["Alive"]]) < 2:
            assert time.monotonic() < deadline, "the second Ray node did not join"
            time.sleep(0.2)
        yield address
    finally:
        ray.shutdown()
        for node in reversed(nodes):
            _stop(node)
        shutil.rmtree(temp, ignore_errors=True)
        if auth is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = auth


def _stop(node: subprocess.Popen) -> None:
    """SIGTERM to the node's session (ray start stops what it started), SIGKILL if it lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(node.pid, sig)
        try:
            node.wait(20)
            return
        except subprocess.TimeoutExpired:
            continue
