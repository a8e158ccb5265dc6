"""Deltas (docs/STORE.md, "Deltas"): a fine-tuned version moves as small deltas to a receiver
that holds the version before, byte for byte the same file; anything wrong with a delta falls
back to the record's chunks; manifests, gc and the server know delta objects."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest

import thrifty as th
from thrifty.errors import BadDelta, ManifestError, NotInStore
from thrifty.pack.reader import read_header
from thrifty.pack.tensors import encode_tensor
from thrifty.ship import collect_garbage
from thrifty.ship.delta import apply_delta, encode_delta
from thrifty.ship.digest import blake3_hex
from thrifty.ship.layout import chunk_path, manifest_path
from thrifty.ship.manifest import MAX_CHUNK_BYTES, Manifest

pytestmark = pytest.mark.timeout(120)


def fine_tuned(rng: np.random.Generator, tensors: dict[str, np.ndarray]) -> dict:
    """The tensors after a light fine-tune: a few codebook indices and int8 values move by one,
    the centroids move a little, the rest stays."""
    shared, centroids = tensors["shared_index"], tensors["centroids"]
    moved = rng.random(shared.shape) < 0.02
    quantized = tensors["quantized"].astype(np.int64)
    nudged = rng.random(quantized.shape) < 0.1
    quantized[nudged] += rng.choice([-1, 1], int(nudged.sum()))
    return {
        "shared_index": np.where(moved, np.minimum(shared + 1, 31), shared),
        "centroids": centroids + np.float32(1e-4),
        "quantized": np.clip(quantized, -127, 127).astype(np.int8),
        "fixed": tensors["fixed"],
    }


def tuned_model(path, step: int):
    """A .thrifty file of a weight-shared float tensor (codebook-coded), an int8 tensor and an
    unchanged one; ``step`` 1 is ``fine_tuned`` of step 0."""
    import onnx
    from onnx import helper, numpy_helper

    from thrifty.pack.writer import write_pack

    rng = np.random.default_rng(7)
    tensors = {
        "shared_index": rng.integers(0, 32, (200, 150)),
        "centroids": np.sort(rng.normal(0, 0.1, 32)).astype(np.float32),
        "quantized": np.clip(np.round(rng.normal(0, 30, (150, 200))), -127, 127).astype(np.int8),
        "fixed": rng.standard_normal(5000).astype(np.float32),
    }
    if step:
        tensors = fine_tuned(rng, tensors)
    weights = {
        "shared": tensors["centroids"][tensors["shared_index"]],
        "quantized": tensors["quantized"],
        "fixed": tensors["fixed"],
    }
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y])
    graph.initializer.extend(numpy_helper.from_array(w, name) for name, w in weights.items())
    write_pack(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


@pytest.fixture
def tuned(tmp_path):
    return tuned_model(tmp_path / "v1.thrifty", 0), tuned_model(tmp_path / "v2.thrifty", 1)


@pytest.fixture
def pushed(tuned, store):
    """Both versions pushed to the folder store, version 2 with its deltas."""
    v1, v2 = tuned
    th.push(v1, store, "model@1")
    return th.push(v2, store, "model@2")


def changed(v1, v2) -> int:
    """Bytes of version 2's records that differ from version 1's."""
    before = {t["sha256"] for t in read_header(v1.read_bytes())[0]["tensors"]}
    after, _ = read_header(v2.read_bytes())
    return sum(t["length"] for t in after["tensors"] if t["sha256"] not in before)


@pytest.fixture(params=["folder", "nginx"])
def source(request, store):
    """Where receivers pull from: the store folder, or nginx serving it."""
    return str(store) if request.param == "folder" else request.getfixturevalue("nginx")


def test_a_fine_tuned_version_moves_as_deltas(tuned, pushed, source, store, tmp_path):
    v1, v2 = tuned
    manifest = pushed.manifest
    assert pushed.deltas == len(manifest.deltas) == 2  # the shared and the int8 tensor
    document = json.loads((store / manifest_path("model", "2")).read_text())
    assert document["manifest_version"] == 3
    assert pushed.delta_saved_bytes == changed(v1, v2) - pushed.delta_bytes > 0

    th.pull(source, "model@1", tmp_path / "one.thrifty")
    pulled = th.pull(source, "model@2", tmp_path / "two.thrifty")
    assert (tmp_path / "two.thrifty").read_bytes() == v2.read_bytes()
    assert pulled.delta_records == 2
    assert pulled.moved_bytes == manifest.chunks[0].size + sum(d.size for d in manifest.deltas)
    assert pulled.moved_bytes < changed(v1, v2) / 4
    assert pulled.delta_saved_bytes == changed(v1, v2) - pushed.delta_bytes


def test_a_receiver_without_the_base_pulls_the_full_chunks(tuned, pushed, source, tmp_path):
    pulled = th.pull(source, "model@2", tmp_path / "two.thrifty")
    assert (tmp_path / "two.thrifty").read_bytes() == tuned[1].read_bytes()
    assert pulled.delta_records == 0
    assert pulled.moved_bytes == tuned[1].stat().st_size


def test_a_corrupted_delta_falls_back_to_the_chunks(tuned, pushed, store, tmp_path):
    v1, v2 = tuned
    broken, kept = pushed.manifest.deltas
    where = store / chunk_path(broken.sha256)
    data = bytearray(where.read_bytes())
    data[len(data) // 2] ^= 0x01
    where.write_bytes(bytes(data))
    th.pull(store, "model@1", tmp_path / "one.thrifty")
    pulled = th.pull(store, "model@2", tmp_path / "two.thrifty")
    assert (tmp_path / "two.thrifty").read_bytes() == v2.read_bytes()
    assert pulled.delta_records == 1
    record = sum(pushed.manifest.chunks[i].size for i in broken.chunks)
    header = pushed.manifest.chunks[0].size
    assert pulled.moved_bytes == header + broken.size + kept.size + record


def test_a_delta_that_rebuilds_other_bytes_falls_back(tuned, pushed, store, tmp_path):
    """The delta object is intact (its digests are the manifest's) but was made for other
    bytes than the record: the rebuild is refused, the record fetched."""
    v1, v2 = tuned
    manifest = pushed.manifest
    wrong = manifest.deltas[1]
    base_record = b"".join((store / chunk_path(c.sha256)).read_bytes() for c in wrong.base)
    header, _ = read_header(v2.read_bytes())
    old_header, _ = read_header(v1.read_bytes())
    entry = next(t for t in header["tensors"] if t["name"] == "quantized")
    old_entry = next(t for t in old_header["tensors"] if t["name"] == "quantized")
    other_entry, other_record = _entry("quantized", _read_tensor(v2, "quantized") + 1, "int8")
    delta = encode_delta(old_entry, base_record, other_entry, other_record)
    with pytest.raises(BadDelta):
        apply_delta(entry, delta, base_record)
    address = hashlib.sha256(delta).hexdigest()
    (store / chunk_path(address)).parent.mkdir(parents=True, exist_ok=True)
    (store / chunk_path(address)).write_bytes(delta)
    swapped = type(wrong)(wrong.chunks, wrong.base, address, len(delta), blake3_hex(delta))
    manifest = type(manifest)(**{**manifest.__dict__, "deltas": (manifest.deltas[0], swapped)})
    (store / manifest_path("model", "2")).write_bytes(manifest.to_bytes())

    th.pull(store, "model@1", tmp_path / "one.thrifty")
    pulled = th.pull(store, "model@2", tmp_path / "two.thrifty")
    assert (tmp_path / "two.thrifty").read_bytes() == v2.read_bytes()
    assert pulled.delta_records == 1


def test_gc_keeps_the_delta_objects(tuned, pushed, store, tmp_path):
    orphan = b"a delta object no manifest names"
    (store / chunk_path(hashlib.sha256(orphan).hexdigest())).parent.mkdir(exist_ok=True)
    (store / chunk_path(hashlib.sha256(orphan).hexdigest())).write_bytes(orphan)
    collected = collect_garbage(store)
    assert (collected.chunks, collected.bytes) == (1, len(orphan))
    assert all((store / chunk_path(d.sha256)).is_file() for d in pushed.manifest.deltas)
    th.pull(store, "model@1", tmp_path / "one.thrifty")
    assert th.pull(store, "model@2", tmp_path / "two.thrifty").delta_records == 2


def test_the_server_refuses_a_manifest_whose_delta_object_is_missing(pushed, store, tmp_path):
    import warnings

    from thrifty.ship.server import create_app

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient

    auth = {"Authorization": "Bearer token"}
    manifest = pushed.manifest
    with TestClient(create_app(tmp_path / "served", "token")) as client:
        for address in {c.sha256 for c in manifest.chunks}:
            body = (store / chunk_path(address)).read_bytes()
            assert client.put(f"/{chunk_path(address)}", content=body, headers=auth).is_success
        path = f"/{manifest_path('model', '2')}"
        refused = client.put(path, content=manifest.to_bytes(), headers=auth)
        assert refused.status_code == 409
        assert "2 of the manifest's chunks and deltas" in refused.json()["detail"]
        for delta in manifest.deltas:
            body = (store / chunk_path(delta.sha256)).read_bytes()
            client.put(f"/{chunk_path(delta.sha256)}", content=body, headers=auth)
        assert client.put(path, content=manifest.to_bytes(), headers=auth).status_code == 201


def test_the_base_is_chosen_or_deltas_are_left_out(tuned, store):
    v1, v2 = tuned
    th.push(v1, store, "model@1")
    th.push(v2, store, "model@2", deltas=False)
    assert Manifest.from_bytes((store / manifest_path("model", "2")).read_bytes()).deltas == ()
    assert th.push(v2, store, "model@3", tag="v2").deltas == 0  # latest is v2 already: no change
    assert th.push(v2, store, "model@4", delta_from="1").deltas == 2
    assert th.push(v2, store, "model@5", delta_from="model@1").deltas == 2
    with pytest.raises(NotInStore, match="model@9 is not in"):
        th.push(v2, store, "model@6", delta_from="9")


# Manifest rules for the new fields


def refuse(document: dict, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        Manifest.from_bytes(json.dumps(document).encode())


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m.update(manifest_version=2), "deltas need manifest_version 3"),
        (lambda m: m.pop("deltas"), "deltas must be a list of 1"),
        (lambda m: m.update(deltas=[]), "deltas must be a list of 1"),
        (lambda m: m.update(chunking="fastcdc"), "need chunking thrifty-records"),
        (lambda m: m["deltas"][0].update(chunks=[0]), "consecutive indices of chunks after"),
        (lambda m: m["deltas"][0].update(chunks=[99]), "consecutive indices of chunks after"),
        (lambda m: m["deltas"][0].update(chunks=[]), "consecutive indices of chunks after"),
        (lambda m: m["deltas"][0].update(chunks=[2, 4]), "consecutive indices of chunks after"),
        (lambda m: m["deltas"][0].update(chunks=[True]), "consecutive indices of chunks after"),
        (lambda m: m["deltas"][1].update(chunks=m["deltas"][0]["chunks"]), "another delta"),
        (lambda m: m["deltas"][0].update(chunks=[1]), "elsewhere in the file"),
        (lambda m: m["deltas"][0].update(base=[]), "base must name 1 to"),
        (lambda m: m["deltas"][0]["base"][0].pop("blake3"), r"base\[0\] must be"),
        (lambda m: m["deltas"][0].pop("blake3"), r"deltas\[0\] must be"),
        (lambda m: m["deltas"][0].update(size=MAX_CHUNK_BYTES + 1), "chunks hold 1 to"),
        (lambda m: m["deltas"][0].update(sha256="../x"), "64 lowercase hex"),
        (lambda m: m.update(manifest_version=4), "upgrade thrifty"),
    ],
)
def test_a_manifest_breaking_a_delta_rule_is_refused(pushed, store, change, message):
    document = json.loads((store / manifest_path("model", "2")).read_text())
    Manifest.from_bytes(json.dumps(document).encode())  # as pushed: valid
    if "elsewhere" in message:  # make chunk 1 (the graph record) repeat in the file
        document["deltas"][0]["chunks"] = [len(document["chunks"]) - 1]
        document["chunks"][-1] = dict(document["chunks"][1])
        document["size"] = sum(c["size"] for c in document["chunks"])
    else:
        change(document)
    refuse(document, message)


# The delta codec, record by record


def _entry(name: str, array: np.ndarray, dtype: str):
    entry, record = encode_tensor(name, array, dtype)
    return {**entry, "offset": 0, "sha256": hashlib.sha256(record).hexdigest()}, record


def _read_tensor(path, name: str) -> np.ndarray:
    from thrifty.pack.reader import read_pack

    return read_pack(path).arrays[name]


def _sparse(rng, shape, keep):
    return np.where(rng.random(shape) < keep, rng.normal(0, 0.1, shape), 0).astype(np.float32)


def _cases():
    rng = np.random.default_rng(3)
    dense = rng.normal(0, 0.1, 4000).astype(np.float32)
    pruned = _sparse(rng, 4000, 0.1)
    moved = pruned.copy()
    moved[pruned != 0] += np.float32(1e-6)
    grown = pruned.copy()
    grown[np.flatnonzero(pruned == 0)[:7]] = 0.5
    few = np.sort(rng.normal(0, 1, 40)).astype(np.float32)
    index = rng.integers(0, 40, 3000)
    half = rng.normal(0, 1, 3000).astype(np.float16)
    return {
        "raw float32": (dense, dense + np.float32(1e-7), "float32"),
        "sparse, same positions": (pruned, moved, "float32"),
        "sparse, positions grown": (pruned, grown, "float32"),
        "dense to sparse": (dense, pruned, "float32"),
        "codebook of another size": (few[index], few[:30][np.minimum(index, 29)], "float32"),
        "float16": (half, (half + np.float16(1e-3)).astype(np.float16), "float16"),
        "uint8": (index.astype(np.uint8), (index + (index % 7 == 0)).astype(np.uint8), "uint8"),
        "int64": (index.astype(np.int64), index.astype(np.int64) + 3, "int64"),
    }


@pytest.mark.parametrize("case", list(_cases()))
def test_a_delta_rebuilds_its_record_byte_for_byte(case):
    before, after, dtype = _cases()[case]
    old_entry, old_record = _entry("w", before, dtype)
    entry, record = _entry("w", after, dtype)
    delta = encode_delta(old_entry, old_record, entry, record)
    assert apply_delta(entry, delta, old_record) == record


def test_a_damaged_delta_or_base_is_bad_delta():
    before, after, dtype = _cases()["sparse, same positions"]
    old_entry, old_record = _entry("w", before, dtype)
    entry, record = _entry("w", after, dtype)
    delta = encode_delta(old_entry, old_record, entry, record)
    for spoiled, base in [
        (delta[:-1], old_record),  # truncated
        (delta + b"\0", old_record),  # trailing bytes
        (b"XX" + delta[2:], old_record),  # not a delta
        (delta, old_record[:-1] + bytes([old_record[-1] ^ 1])),  # another base
    ]:
        with pytest.raises(BadDelta):
            apply_delta(entry, spoiled, base)


def thrifty(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "thrifty.cli", *args], capture_output=True, text=True
    )


def test_the_cli_says_how_many_records_came_from_deltas(tuned, store, tmp_path):
    v1, v2 = tuned
    assert thrifty("push", str(v1), str(store), "model@1").returncode == 0
    pushed = thrifty("push", str(v2), str(store), "model@2", "--delta-from", "1")
    assert pushed.returncode == 0, pushed.stderr
    assert "2 deltas" in pushed.stdout
    assert thrifty("pull", str(store), "model@1", "-o", str(tmp_path / "one")).returncode == 0
    pulled = thrifty("pull", str(store), "model@2", "-o", str(tmp_path / "two"))
    assert pulled.returncode == 0, pulled.stderr
    assert "2 of 2 records from deltas" in pulled.stdout
    missing = thrifty("push", str(v2), str(store), "model@3", "--delta-from", "7")
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
