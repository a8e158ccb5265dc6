"""Push and pull over every kind of store, with real servers: a folder, memory, S3 (moto's
server) and HTTP (nginx serving the folder). Only changed chunks move."""

from __future__ import annotations

import hashlib
import json

import blake3
import pytest

import thrifty as th
from conftest import packed_model
from thrifty.errors import NotInStore, StoreError, VersionExists
from thrifty.pack.reader import read_header
from thrifty.ship import collect_garbage, list_versions
from thrifty.ship.assembly import Assembly

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def versions(tmp_path):
    """Version 1, and version 2 in which only the last tensor changed."""
    return (
        packed_model(tmp_path / "v1.thrifty"),
        packed_model(tmp_path / "v2.thrifty", changed=("w3",)),
    )


def changed_bytes(v2) -> int:
    """Bytes of what changed from v1 to v2: the header and w3's record."""
    header, body = read_header(v2.read_bytes())
    return body + next(t["length"] for t in header["tensors"] if t["name"] == "w3")


@pytest.fixture(params=["folder", "memory", "s3"])
def url(request, store):
    if request.param == "folder":
        return str(store)
    if request.param == "memory":
        import uuid

        return f"memory://store-{uuid.uuid4().hex}"
    return request.getfixturevalue("s3")


def test_push_then_pull_moves_only_what_changed(url, versions, tmp_path, span):
    v1, v2 = versions
    first = th.push(v1, url, "model@1")
    assert first.moved_bytes == v1.stat().st_size and first.saved_bytes == 0
    second = th.push(v2, url, "model@2")
    assert second.moved_bytes == changed_bytes(v2)
    assert second.saved_bytes == v2.stat().st_size - changed_bytes(v2)

    pulled = th.pull(url, "model@1", tmp_path / "out1.thrifty")
    assert (tmp_path / "out1.thrifty").read_bytes() == v1.read_bytes()
    assert pulled.moved_bytes == v1.stat().st_size
    pulled = th.pull(url, "model@2", tmp_path / "out2.thrifty")
    assert (tmp_path / "out2.thrifty").read_bytes() == v2.read_bytes()
    assert pulled.moved_bytes == changed_bytes(v2)
    again = th.pull(url, "model", tmp_path / "latest.thrifty")  # latest: version 2
    assert again.manifest.version == "2" and again.moved_bytes == 0
    assert th.unpack(tmp_path / "latest.thrifty").proto.graph.initializer[3].name == "w3"


def test_versions_tags_listing_and_garbage(url, versions, tmp_path):
    v1, v2 = versions
    auto = th.push(v1, url, "model")  # no version: the file's digest names it
    assert auto.manifest.version == auto.manifest.sha256[:12]
    assert th.push(v1, url, "model").moved_bytes == 0  # the same again changes nothing
    with pytest.raises(VersionExists, match="versions never change"):
        th.push(v2, url, f"model@{auto.manifest.version}")
    th.push(v2, url, "model@2", tag="stable")
    listed = {f"{v.manifest.name}@{v.manifest.version}": v.tags for v in list_versions(url)}
    assert listed == {f"model@{auto.manifest.version}": ("latest",), "model@2": ("stable",)}
    assert th.pull(url, "model@stable", tmp_path / "s.thrifty").manifest.version == "2"
    with pytest.raises(NotInStore, match="model@3 is not in"):
        th.pull(url, "model@3", tmp_path / "x.thrifty")
    assert not (tmp_path / "x.thrifty").exists()

    store = th.ship.open_store(url)
    store.delete(f"manifests/model/{auto.manifest.version}.json")
    store.delete("tags/model/latest.json")
    collected = collect_garbage(url)
    assert collected.chunks == 2  # v1's header and its w3 record
    assert th.pull(url, "model@2", tmp_path / "after-gc.thrifty", cache=tmp_path / "fresh")
    assert (tmp_path / "after-gc.thrifty").read_bytes() == v2.read_bytes()


def test_pull_from_nginx(nginx, store, versions, tmp_path):
    v1, v2 = versions
    th.push(v1, store, "model@1")
    th.push(v2, store, "model@2")
    pulled = th.pull(nginx, "model@1", tmp_path / "a.thrifty")
    assert (tmp_path / "a.thrifty").read_bytes() == v1.read_bytes()
    assert pulled.moved_bytes == v1.stat().st_size
    pulled = th.pull(nginx, "model", tmp_path / "b.thrifty")  # the latest tag, over HTTP
    assert (tmp_path / "b.thrifty").read_bytes() == v2.read_bytes()
    assert pulled.moved_bytes == changed_bytes(v2)
    with pytest.raises(StoreError, match="only `thrifty serve` can"):
        list_versions(nginx)


def test_nginx_resumes_a_partial_chunk_with_range(nginx, store, versions, tmp_path, span):
    """The rest comes in spans (``bytes=a-b``, If-Range with nginx's ETag): any answer but a
    206 from the right offset would move more bytes than the rest."""
    v1, _ = versions
    pushed = th.push(v1, store, "model@1")
    biggest = max(pushed.manifest.chunks, key=lambda c: c.size)
    data = (store / "chunks" / biggest.sha256[:2] / biggest.sha256).read_bytes()
    killed = Assembly(tmp_path / "a.thrifty", pushed.manifest)  # as if a pull had been killed
    killed.write(biggest, 0, data[:1000], None)
    killed.close()
    pulled = th.pull(nginx, "model@1", tmp_path / "a.thrifty")
    assert (tmp_path / "a.thrifty").read_bytes() == v1.read_bytes()
    assert pulled.moved_bytes == v1.stat().st_size - 1000


def test_the_manifest_is_what_docs_store_md_says(store, versions):
    v1, _ = versions
    th.push(v1, store, "model@1")
    document = json.loads((store / "manifests/model/1.json").read_text())
    assert set(document) == {
        "format", "manifest_version", "name", "version", "size", "sha256", "blake3", "chunking",
        "chunks", "created",
    }  # fmt: skip
    assert document["manifest_version"] == 2 and document["chunking"] == "thrifty-records"
    assert document["sha256"] == hashlib.sha256(v1.read_bytes()).hexdigest()
    assert document["blake3"] == blake3.blake3(v1.read_bytes()).hexdigest()
    assert sum(c["size"] for c in document["chunks"]) == document["size"] == v1.stat().st_size
    for c in document["chunks"]:
        data = (store / "chunks" / c["sha256"][:2] / c["sha256"]).read_bytes()
        assert len(data) == c["size"] and blake3.blake3(data).hexdigest() == c["blake3"]
    assert json.loads((store / "tags/model/latest.json").read_text()) == {"version": "1"}


def test_a_version_1_manifest_is_pulled_and_checked_by_sha256(nginx, store, versions, tmp_path):
    """Stores pushed before manifests carried BLAKE3 digests stay readable."""
    v1, _ = versions
    th.push(v1, store, "model@1")
    where = store / "manifests/model/1.json"
    document = json.loads(where.read_text())
    document["manifest_version"] = 1
    del document["blake3"]
    for chunk in document["chunks"]:
        del chunk["blake3"]
    where.write_text(json.dumps(document))
    pulled = th.pull(nginx, "model@1", tmp_path / "a.thrifty")
    assert pulled.manifest.blake3 is None and all(c.blake3 is None for c in pulled.manifest.chunks)
    assert (tmp_path / "a.thrifty").read_bytes() == v1.read_bytes()


@pytest.fixture
def thrifty_server(store):
    """``thrifty serve``'s app over ``store`` on a loopback port, with the token "s3cret"."""
    from thrifty.ship.server import create_app, running

    with running(create_app(store, "s3cret")) as url:
        yield url


def test_push_pull_and_list_through_thrifty_serve(thrifty_server, store, versions, tmp_path):
    v1, v2 = versions
    remote = th.ship.open_store(thrifty_server, token="s3cret")
    assert th.push(v1, remote, "model@1").moved_bytes == v1.stat().st_size
    pushed = th.push(v2, remote, "model@2")
    assert pushed.moved_bytes == changed_bytes(v2)
    assert (store / "manifests/model/2.json").is_file()  # written through the server
    pulled = th.pull(thrifty_server, "model@1", tmp_path / "a.thrifty")
    assert (tmp_path / "a.thrifty").read_bytes() == v1.read_bytes()
    assert pulled.moved_bytes == v1.stat().st_size
    listed = [(v.manifest.version, v.tags) for v in list_versions(thrifty_server)]
    assert listed == [("1", ()), ("2", ("latest",))]


def test_a_push_without_the_token_says_what_to_do(thrifty_server, versions, monkeypatch):
    monkeypatch.delenv("THRIFTY_TOKEN", raising=False)
    with pytest.raises(StoreError, match="set THRIFTY_TOKEN"):
        th.push(versions[0], thrifty_server, "model@1")
