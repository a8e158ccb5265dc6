"""thrifty push, pull, ls, gc and serve as a user runs them: real processes, real exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import packed_model
from thrifty.ship.nginx import free_port, wait_for_port

pytestmark = pytest.mark.timeout(120)
THRIFTY = [sys.executable, "-m", "thrifty.cli"]


def thrifty(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*THRIFTY, *args], capture_output=True, text=True, env={**os.environ, **(env or {})}
    )


def test_push_pull_ls_gc(tmp_path, store):
    model = packed_model(tmp_path / "m.thrifty")
    pushed = thrifty("push", str(model), str(store), "model@1")
    assert pushed.returncode == 0, pushed.stderr
    assert "pushed model@1" in pushed.stdout and "already there 0 B" in pushed.stdout
    pulled = thrifty("pull", str(store), "model", "-o", str(tmp_path / "out.thrifty"))
    assert pulled.returncode == 0, pulled.stderr
    assert (tmp_path / "out.thrifty").read_bytes() == model.read_bytes()
    listed = thrifty("ls", str(store), "--json")
    assert [(v["name"], v["version"], v["tags"]) for v in json.loads(listed.stdout)] == [
        ("model", "1", ["latest"])
    ]
    collected = thrifty("gc", str(store))
    assert collected.returncode == 0 and "removed 0 chunks" in collected.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["push", "missing.thrifty", "STORE", "model@1"], "does not exist"),
        (["pull", "STORE", "model@9", "-o", "OUT"], "model@9 is not in"),
        (["pull", "STORE", "../etc", "-o", "OUT"], "is not allowed"),
        (["push", "MODEL", "STORE", "bad name"], "is not allowed"),
    ],
)
def test_user_errors_are_one_line_and_exit_1(tmp_path, store, args, message):
    model = packed_model(tmp_path / "m.thrifty")
    thrifty("push", str(model), str(store), "model@1")
    names = {"STORE": str(store), "MODEL": str(model), "OUT": str(tmp_path / "o.thrifty")}
    result = thrifty(*[names.get(a, a) for a in args])
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "o.thrifty").exists()


def test_serve_takes_uploads_with_the_token_only(tmp_path, store):
    model = packed_model(tmp_path / "m.thrifty")
    port = free_port()
    server = subprocess.Popen(
        [*THRIFTY, "serve", str(store), "--port", str(port)],
        env={**os.environ, "THRIFTY_TOKEN": "s3cret"},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_port(port, server)
        url = f"http://127.0.0.1:{port}"
        refused = thrifty("push", str(model), url, "model@1", env={"THRIFTY_TOKEN": "wrong"})
        assert refused.returncode == 1 and "401" in refused.stderr
        pushed = thrifty("push", str(model), url, "model@1", env={"THRIFTY_TOKEN": "s3cret"})
        assert pushed.returncode == 0, pushed.stderr
        pulled = thrifty("pull", url, "model@1", "-o", str(tmp_path / "out.thrifty"))
        assert pulled.returncode == 0, pulled.stderr
        assert (tmp_path / "out.thrifty").read_bytes() == model.read_bytes()
        assert "model@1" in thrifty("ls", url).stdout
    finally:
        server.terminate()
        _, err = server.communicate(timeout=10)
    assert "s3cret" not in err  # the token is never logged
