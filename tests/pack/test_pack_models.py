"""Packing real models: lossless for every zoo model, dense or sparse, and no bigger than ONNX."""

import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

import thrifty as th

ZOO = ["lenet-300-100", "lenet-5", "mlp-2048", "tabular-mlp"]


def zoo_model(name: str) -> th.Model:
    shape = (30,) if name == "tabular-mlp" else (1, 28, 28)
    return th.load(th.models.build(name, shape, 10), input_shape=shape)


def pruned(model: th.Model, keep: float = 0.08, values: int = 32) -> th.Model:
    """Weights cut to the largest ``keep`` share and rounded to ``values`` levels (no training)."""
    proto = onnx.ModelProto()
    proto.CopyFrom(model.proto)
    for tensor in proto.graph.initializer:
        weights = numpy_helper.to_array(tensor).copy()
        if weights.ndim >= 2:
            weights[np.abs(weights) < np.quantile(np.abs(weights), 1 - keep)] = 0
            levels = np.linspace(weights.min(), weights.max(), values).astype(np.float32)
            nonzero = weights != 0
            weights[nonzero] = levels[np.abs(weights[nonzero, None] - levels).argmin(1)]
        tensor.CopyFrom(numpy_helper.from_array(weights, tensor.name))
    return th.Model(proto=proto, name=f"{model.name}-pruned", source="test")


def weights(model: th.Model) -> list[tuple[str, bytes, str]]:
    return [
        (t.name, numpy_helper.to_array(t).tobytes(), str(numpy_helper.to_array(t).dtype))
        for t in model.proto.graph.initializer
    ]


@pytest.mark.parametrize("compressed", [False, True], ids=["dense", "pruned"])
@pytest.mark.parametrize("name", ZOO)
def test_lossless(tmp_path, name, compressed):
    model = zoo_model(name)
    model = pruned(model) if compressed else model
    th.pack(model, tmp_path / "m.thrifty")
    back = th.unpack(tmp_path / "m.thrifty")
    assert weights(back) == weights(model)
    x = np.random.default_rng(0).random((8, *model.input_shape), dtype=np.float32)
    before, after = (th.open_session(m, device="cpu").run(x) for m in (model, back))
    assert np.array_equal(before, after)


@pytest.mark.parametrize("name", ZOO)
def test_dense_packs_no_bigger_than_onnx(tmp_path, name):
    model = zoo_model(name)
    th.pack(model, tmp_path / "m.thrifty")
    assert (tmp_path / "m.thrifty").stat().st_size <= 1.01 * len(model.to_bytes())


def test_sparsity_and_sharing_become_saved_bytes(tmp_path):
    model = pruned(zoo_model("lenet-300-100"))
    th.pack(model, tmp_path / "m.thrifty")
    assert (tmp_path / "m.thrifty").stat().st_size < len(model.to_bytes()) / 25
    rows = {row.name: row for row in th.inspect(tmp_path / "m.thrifty").tensors}
    assert "codebook" in rows["fc1.weight"].encoding  # sparse, or dense with zero as a value
    assert rows["fc1.weight"].bits_per_weight < 1.0


def test_metadata_and_profile_of_a_packed_model(tmp_path, digits):
    model = th.load(th.models.build("tabular-mlp", (64,), 10), input_shape=(64,))
    header = th.pack(model, tmp_path / "m.thrifty", metadata={"recipe": ["prune:0.9"]})
    assert header["metadata"]["recipe"] == ["prune:0.9"]
    assert header["metadata"]["creator"] == f"thrifty {th.__version__}"
    cost = th.profile(tmp_path / "m.thrifty", digits, timing_budget_s=0.05)
    assert cost.storage.format == "thrifty"
    assert (
        cost.storage.bytes
        == cost.bandwidth.bytes_to_ship
        == (tmp_path / "m.thrifty").stat().st_size
    )


def thrifty(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "thrifty.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_cli_pack_inspect_unpack(tmp_path):
    model = pruned(zoo_model("lenet-300-100"))
    model.save(tmp_path / "m.onnx")
    packed = thrifty("pack", "m.onnx", "-o", "m.thrifty", cwd=tmp_path)
    assert packed.returncode == 0, packed.stderr
    assert "bits per weight" in packed.stdout and "fc1.weight" in packed.stdout
    document = json.loads(thrifty("inspect", "m.thrifty", "--json", cwd=tmp_path).stdout)
    assert document["weights"] == 266_610
    assert {row["name"] for row in document["tensors"]} >= {"fc1.weight", "fc3.bias"}
    unpacked = thrifty("unpack", "m.thrifty", "-o", "back.onnx", cwd=tmp_path)
    assert unpacked.returncode == 0, unpacked.stderr
    assert weights(th.load(tmp_path / "back.onnx")) == weights(model)


@pytest.mark.parametrize("command", ["inspect", "unpack"])
def test_cli_missing_file(tmp_path, command):
    args = [command, "nope.thrifty"] + (["-o", "x.onnx"] if command == "unpack" else [])
    result = thrifty(*args, cwd=tmp_path)
    assert result.returncode == 1 and result.stderr.startswith("error: ")
    assert not (tmp_path / "x.onnx").exists()
