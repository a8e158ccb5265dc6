"""Real servers for the ship tests, each on a free loopback port and stopped afterwards: nginx
serving a store folder read-only, moto's S3 server, and a fault-injecting static server."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
from faulty import FaultyServer

from thrifty.ship.nginx import free_port
from thrifty.ship.nginx import nginx as serve_with_nginx


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Every test pulls through its own chunk cache, never the user's."""
    monkeypatch.setenv("THRIFTY_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def span(monkeypatch) -> int:
    """Pulls ask for 64 KiB a request, so the tests' small chunks come in several spans."""
    import thrifty.ship.pull  # noqa: F401  (the module, which thrifty.ship's pull hides)

    monkeypatch.setattr(sys.modules["thrifty.ship.pull"], "SPAN", 2**16)
    return 2**16


@pytest.fixture
def store(tmp_path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def nginx(store):
    """nginx (Debian's package; .ci/run installs it) serving ``store`` read-only: its URL."""
    store.mkdir(exist_ok=True)
    with serve_with_nginx(store) as url:
        yield url


@pytest.fixture
def s3(monkeypatch):
    """moto's S3 server (the S3 wire protocol) with one bucket: yields an s3:// store URL."""
    from moto.server import ThreadedMotoServer
    from s3fs import S3FileSystem

    S3FileSystem.clear_instance_cache()  # cached instances keep an earlier server's address

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    for key, value in {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    bucket = f"models-{uuid.uuid4().hex[:12]}"  # moto's state outlives one server
    try:
        import fsspec

        fsspec.filesystem("s3", skip_instance_cache=True).mkdir(bucket)
        yield f"s3://{bucket}/store"
    finally:
        server.stop()


@pytest.fixture
def faulty(store):
    """A static server over ``store`` whose answers the test can spoil (see faulty.py)."""
    store.mkdir(exist_ok=True)
    server = FaultyServer(store)
    with server:
        yield server


def packed_model(path: Path, seed: int = 0, changed: tuple[str, ...] = (), size: int = 50_000):
    """A .thrifty file of four weight tensors (``size`` float32 each); the tensors named in
    ``changed`` get other values than with the same seed otherwise."""
    import onnx
    from onnx import helper, numpy_helper

    from thrifty.pack.writer import write_pack

    initializers = []
    for index, name in enumerate(["w0", "w1", "w2", "w3"]):
        rng = np.random.default_rng((seed, index, name in changed))
        weights = rng.standard_normal(size).astype(np.float32)
        initializers.append(numpy_helper.from_array(weights, name))
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y])
    graph.initializer.extend(initializers)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    write_pack(proto, path)
    return path
