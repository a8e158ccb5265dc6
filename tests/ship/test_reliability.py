"""What a pull survives (docs/STORE.md, ../shared/RELIABILITY.md items 8 to 13): damaged and
cut chunks, servers that ignore Range or change an object, a killed process, an interrupted
push, and manifests that lie. Each against a real server that spoils its answers on cue."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

import thrifty as th
from conftest import packed_model
from thrifty.errors import (
    ChunkMismatch,
    ManifestError,
    NotInStore,
    StoreError,
    TransferInterrupted,
)
from thrifty.ship.http import HttpStore
from thrifty.ship.layout import chunk_path

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def model(store, tmp_path):
    """A model pushed to ``store`` as model@1; returns (file, manifest, its largest chunk)."""
    path = packed_model(tmp_path / "m.thrifty", size=100_000)
    manifest = th.push(path, store, "model@1").manifest
    return path, manifest, max(manifest.chunks, key=lambda c: c.size)


def requests_for(faulty, chunk):
    return [r for r in faulty.settled() if r[0] == chunk_path(chunk.sha256)]


def test_a_cut_chunk_resumes_where_it_stopped(faulty, model, tmp_path):
    path, manifest, big = model
    faulty.spoil(chunk_path(big.sha256), "cut")
    pulled = th.pull(faulty.url, "model@1", tmp_path / "out.thrifty")
    assert (tmp_path / "out.thrifty").read_bytes() == path.read_bytes()
    first, second = requests_for(faulty, big)
    assert first[3] == 200 and first[4] == big.size // 2
    assert second[1] == f"bytes={big.size // 2}-" and second[2] and second[3] == 206
    assert pulled.moved_bytes == path.stat().st_size  # not one byte twice


def test_a_chunk_comes_in_spans_that_resume_within_and_keep_the_etag(faulty, model, tmp_path, span):
    """A request asks for SPAN bytes, so a killed pull loses at most that much per connection
    in flight; a span cut short resumes inside itself, under If-Range with the first ETag."""
    path, _, big = model
    faulty.spoil(chunk_path(big.sha256), "cut")
    pulled = th.pull(faulty.url, "model@1", tmp_path / "out.thrifty")
    assert (tmp_path / "out.thrifty").read_bytes() == path.read_bytes()
    assert pulled.moved_bytes == path.stat().st_size
    expected = [f"bytes=0-{span - 1}"]  # cut at half; the rest from there, a span at a time
    for start in range(span // 2, big.size, span):
        expected.append(f"bytes={start}-{start + span - 1 if start + span < big.size else ''}")
    requests = requests_for(faulty, big)
    assert [r[1] for r in requests] == expected
    assert {r[3] for r in requests} == {206}
    assert requests[0][2] is None and {r[2] for r in requests[1:]} == {faulty.etag_of(big)}


def test_a_corrupt_partial_chunk_is_fetched_again_whole(faulty, model, tmp_path):
    """The bytes a journal says were written are checked with the rest of the chunk: wrong
    ones cost that chunk a second fetch, and the file is still right."""
    from thrifty.ship.assembly import Assembly

    path, manifest, big = model
    killed = Assembly(tmp_path / "out.thrifty", manifest)
    killed.write(big, 0, b"\xff" * 1000, None)  # as if the disk had lost what was written
    killed.close()
    pulled = th.pull(faulty.url, "model@1", tmp_path / "out.thrifty")
    assert (tmp_path / "out.thrifty").read_bytes() == path.read_bytes()
    assert [(r[1], r[3]) for r in requests_for(faulty, big)] == [("bytes=1000-", 206), (None, 200)]
    assert pulled.moved_bytes == path.stat().st_size - 1000 + big.size


def test_a_flipped_bit_fetches_that_chunk_again_and_only_it(faulty, model, tmp_path):
    path, manifest, big = model
    faulty.spoil(chunk_path(big.sha256), "flip")
    pulled = th.pull(faulty.url, "model@1", tmp_path / "out.thrifty")
    assert (tmp_path / "out.thrifty").read_bytes() == path.read_bytes()
    assert pulled.moved_bytes == path.stat().st_size + big.size
    assert len(requests_for(faulty, big)) == 2
    others = [c for c in manifest.chunks if c != big]
    assert all(len(requests_for(faulty, c)) == 1 for c in others)


def test_a_chunk_bad_every_time_is_a_clear_error_and_no_file(faulty, model, tmp_path):
    path, _, big = model
    faulty.spoil(chunk_path(big.sha256), "flip", "flip", "flip")
    with pytest.raises(ChunkMismatch, match="failed its BLAKE3 check 3 times"):
        th.pull(faulty.url, "model@1", tmp_path / "out.thrifty")
    assert not (tmp_path / "out.thrifty").exists()
    pulled = th.pull(faulty.url, "model@1", tmp_path / "out.thrifty")  # the store is healed
    assert (tmp_path / "out.thrifty").read_bytes() == path.read_bytes()
    assert pulled.moved_bytes == big.size  # the other chunks were kept


def test_a_200_answer_to_a_range_request_starts_the_chunk_over(faulty, model, tmp_path):
    path, _, big = model
    faulty.spoil(chunk_path(big.sha256), "cut", "ignore-range")
    th.pull(faulty.url, "model@1", tmp_path / "out.thrifty")
    assert (tmp_path / "out.thrifty").read_bytes() == path.read_bytes()
    cut, whole = requests_for(faulty, big)
    assert whole[1] is not None and whole[3] == 200 and whole[4] == big.size


def test_an_object_that_changed_drops_the_partial(faulty, model, tmp_path):
    """Three cuts exhaust the retries; the next pull sends If-Range with the old ETag, the
    server's has changed, so it answers 200 with the whole chunk."""
    path, _, big = model
    faulty.spoil(chunk_path(big.sha256), "cut", "cut", "cut")
    with pytest.raises(TransferInterrupted):
        th.pull(faulty.url, "model@1", tmp_path / "out.thrifty")
    old_etag = requests_for(faulty, big)[-1][2]
    faulty.spoil(chunk_path(big.sha256), "new-etag")
    th.pull(faulty.url, "model@1", tmp_path / "out.thrifty")
    assert (tmp_path / "out.thrifty").read_bytes() == path.read_bytes()
    last = requests_for(faulty, big)[-1]
    assert last[2] == old_etag and last[3] == 200 and last[4] == big.size


def test_a_416_answer_drops_the_bytes_held_and_starts_over(faulty, model, tmp_path):
    path, _, big = model
    faulty.spoil(chunk_path(big.sha256), "cut", "refuse-range")
    th.pull(faulty.url, "model@1", tmp_path / "out.thrifty")
    assert (tmp_path / "out.thrifty").read_bytes() == path.read_bytes()
    statuses = [r[3] for r in requests_for(faulty, big)]
    assert statuses == [200, 416, 200]


def test_weak_etags_are_never_sent_in_if_range(faulty, model):
    _, _, big = model
    store = HttpStore(faulty.url, None)
    for etag, sent in [('W/"weak"', None), ('"strong"', '"strong"')]:
        with store.open_range(chunk_path(big.sha256), 10, None, etag) as body:
            assert sum(len(b) for b in body.blocks) in (big.size - 10, big.size)
        assert requests_for(faulty, big)[-1][1:3] == ("bytes=10-", sent)


def test_a_killed_pull_leaves_no_file_and_resumes_refetching_under_one_chunk(
    faulty, model, tmp_path, private_cache
):
    path, manifest, _ = model
    for chunk in manifest.chunks:
        faulty.spoil(chunk_path(chunk.sha256), "slow")
    dest = tmp_path / "out.thrifty"
    script = f"import thrifty as th; th.pull({faulty.url!r}, 'model@1', {str(dest)!r}, jobs=1)"
    env = {**os.environ, "THRIFTY_CACHE": str(private_cache)}
    process = subprocess.Popen([sys.executable, "-c", script], env=env)
    deadline = time.monotonic() + 60
    while sum(r[4] for r in faulty.requests) < path.stat().st_size // 3:
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    assert not dest.exists()
    sent_before = sum(r[4] for r in faulty.requests)
    pulled = th.pull(faulty.url, "model@1", dest)
    assert dest.read_bytes() == path.read_bytes()
    refetched = sent_before + pulled.moved_bytes - path.stat().st_size
    assert 0 <= refetched <= max(c.size for c in manifest.chunks)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_an_interrupted_push_publishes_nothing_and_resumes(store, tmp_path, monkeypatch):
    from thrifty.ship.store import FsspecStore

    path = packed_model(tmp_path / "m.thrifty")
    real_write, writes = FsspecStore.write, []

    def failing_write(self, where, data):
        if len(writes) == 2:
            raise StoreError("the network went away")
        writes.append(where)
        real_write(self, where, data)

    monkeypatch.setattr(FsspecStore, "write", failing_write)
    with pytest.raises(StoreError, match="went away"):
        th.push(path, store, "model@1", jobs=1)
    assert not (store / "manifests").exists()
    with pytest.raises(NotInStore):
        th.pull(store, "model@1", tmp_path / "out.thrifty")
    monkeypatch.setattr(FsspecStore, "write", real_write)
    pushed = th.push(path, store, "model@1")
    uploaded = sum(len((store / w).read_bytes()) for w in writes)
    assert pushed.moved_bytes == path.stat().st_size - uploaded


def test_a_manifest_naming_a_missing_chunk_is_refused(store, model, tmp_path):
    _, _, big = model
    (store / chunk_path(big.sha256)).unlink()
    with pytest.raises(NotInStore):
        th.pull(store, "model@1", tmp_path / "out.thrifty")
    assert not (tmp_path / "out.thrifty").exists()


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m["chunks"][0].update(size=16 * 2**20 + 1), "chunks hold 1 to"),
        (lambda m: m.update(size=m["size"] + 1), "not the sum of its chunks"),
        (lambda m: m["chunks"][0].update(sha256="../../etc/passwd"), "64 lowercase hex"),
        (lambda m: m.update(name="../x"), "not allowed"),
        (lambda m: m.update(chunking="gzip"), "chunking must be"),
        (lambda m: m["chunks"][0].update(blake3="x" * 64), "not a BLAKE3"),
        (lambda m: m["chunks"][0].pop("blake3"), r"must be \{blake3, sha256, size\}"),
        (lambda m: m.pop("blake3"), "not a BLAKE3"),
        (lambda m: m.update(manifest_version=4), "upgrade thrifty"),
        (lambda m: m.update(manifest_version=1), r"must be \{sha256, size\}"),
    ],
)
def test_a_manifest_that_breaks_a_rule_is_refused(store, model, tmp_path, change, message):
    where = store / "manifests/model/1.json"
    document = json.loads(where.read_text())
    change(document)
    where.write_text(json.dumps(document))
    with pytest.raises(ManifestError, match=message):
        th.pull(store, "model@1", tmp_path / "out.thrifty")
    assert not (tmp_path / "out.thrifty").exists()


def as_version_1(document: dict) -> None:
    """Make a manifest what thrifty wrote before BLAKE3: SHA-256 only."""
    document["manifest_version"] = 1
    del document["blake3"]
    for chunk in document["chunks"]:
        del chunk["blake3"]


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m.update(blake3="0" * 64),
        lambda m: (as_version_1(m), m.update(sha256="0" * 64)),
    ],
    ids=["version 2: BLAKE3", "version 1: SHA-256"],
)
def test_chunks_that_do_not_make_the_named_file_publish_nothing(store, model, tmp_path, change):
    where = store / "manifests/model/1.json"
    document = json.loads(where.read_text())
    change(document)
    where.write_text(json.dumps(document))
    (tmp_path / "out.thrifty").write_bytes(b"the previous version")
    with pytest.raises(ManifestError, match="do not make up the file"):
        th.pull(store, "model@1", tmp_path / "out.thrifty")
    assert (tmp_path / "out.thrifty").read_bytes() == b"the previous version"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_a_chunk_written_whole_before_a_kill_is_not_fetched_again(faulty, model, store, tmp_path):
    from thrifty.ship.assembly import Assembly

    path, manifest, big = model
    killed = Assembly(tmp_path / "out.thrifty", manifest)  # killed after the write, before "done"
    killed.write(big, 0, (store / chunk_path(big.sha256)).read_bytes(), None)
    killed.close()
    pulled = th.pull(faulty.url, "model@1", tmp_path / "out.thrifty")
    assert (tmp_path / "out.thrifty").read_bytes() == path.read_bytes()
    assert requests_for(faulty, big) == []
    assert pulled.moved_bytes == path.stat().st_size - big.size
