"""``thrifty.load`` refuses what could run code or read outside the model's folder.

Every file here is real, made in ``tmp_path``: pickles that would create a sentinel file if ever
unpickled, ONNX models whose external data points elsewhere, corrupt and unknown files.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

import thrifty
from thrifty.errors import CorruptModel, ModelError, PickleRefused, UnknownModelFormat, UnsafeModel

WEIGHTS = np.arange(12, dtype=np.float32).reshape(4, 3)


class Trap:
    """Unpickling this creates ``sentinel``: proof that the pickle's code ran."""

    def __init__(self, sentinel: Path):
        self.sentinel = sentinel

    def __reduce__(self):
        return (open, (str(self.sentinel), "w"))


def matmul_model() -> onnx.ModelProto:
    """y = x @ WEIGHTS, with WEIGHTS as an initializer."""
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "matmul",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])],
        [numpy_helper.from_array(WEIGHTS, "w")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


# --- pickles -------------------------------------------------------------------------------------


def test_the_trap_is_live(tmp_path):
    """The trap really runs when unpickled, so the refusals below mean something."""
    sentinel = tmp_path / "ran"
    pickle.loads(pickle.dumps(Trap(sentinel)))
    assert sentinel.exists()


@pytest.mark.parametrize("suffix", [".pt", ".pkl", ".onnx", ".keras", ".model", ""])
def test_pickle_is_refused_whatever_its_name(tmp_path, suffix):
    sentinel = tmp_path / "ran"
    path = tmp_path / f"model{suffix}"
    path.write_bytes(pickle.dumps(Trap(sentinel)))
    with pytest.raises(PickleRefused):
        thrifty.load(path)
    assert not sentinel.exists()


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_pickle_is_recognised_by_content_for_every_binary_protocol(tmp_path, protocol):
    sentinel = tmp_path / "ran"
    path = tmp_path / "model.model"
    path.write_bytes(pickle.dumps(Trap(sentinel), protocol=protocol))
    with pytest.raises(PickleRefused):
        thrifty.load(path)
    assert not sentinel.exists()


@pytest.mark.parametrize("protocol", [0, 1])
def test_text_pickle_is_never_unpickled(tmp_path, protocol):
    """Protocols 0 and 1 have no magic bytes; they are refused as something, never opened."""
    sentinel = tmp_path / "ran"
    path = tmp_path / "model.onnx"
    path.write_bytes(pickle.dumps(Trap(sentinel), protocol=protocol))
    with pytest.raises(ModelError):
        thrifty.load(path)
    assert not sentinel.exists()


@pytest.mark.parametrize("suffix", [".pt", ".onnx", ".weights"])
@pytest.mark.parametrize("zipped", [True, False], ids=["zip", "legacy"])
def test_torch_save_is_refused_and_points_to_onnx(tmp_path, suffix, zipped):
    path = tmp_path / f"x{suffix}"
    state = torch.nn.Linear(4, 3).state_dict()
    torch.save(state, path, _use_new_zipfile_serialization=zipped)
    with pytest.raises(PickleRefused, match="ONNX"):
        thrifty.load(path)


# --- ONNX external data --------------------------------------------------------------------------


@pytest.fixture
def external(tmp_path) -> Path:
    """model/model.onnx with its weights in model/weights.bin, and a copy outside the folder."""
    folder = tmp_path / "model"
    folder.mkdir()
    path = folder / "model.onnx"
    onnx.save_model(
        matmul_model(), path, save_as_external_data=True, location="weights.bin", size_threshold=0
    )
    shutil.copy(folder / "weights.bin", tmp_path / "outside.bin")
    return path


def point_weights_at(path: Path, location: str) -> None:
    proto = onnx.load(str(path), load_external_data=False)
    (tensor,) = proto.graph.initializer
    for entry in tensor.external_data:
        if entry.key == "location":
            entry.value = location
    path.write_bytes(proto.SerializeToString())


def _symlink_file(folder: Path) -> str:
    (folder / "link.bin").symlink_to(folder.parent / "outside.bin")
    return "link.bin"


def _symlink_folder(folder: Path) -> str:
    (folder / "sub").symlink_to(folder.parent, target_is_directory=True)
    return "sub/outside.bin"


def _symlink_inside(folder: Path) -> str:
    """Even a link that stays inside is refused: one rule, no link resolution to get wrong."""
    (folder / "alias.bin").symlink_to(folder / "weights.bin")
    return "alias.bin"


def _hard_link(folder: Path) -> str:
    os.link(folder.parent / "outside.bin", folder / "hard.bin")
    return "hard.bin"


def _through_subfolder(folder: Path) -> str:
    (folder / "a").mkdir()
    return "a/../../outside.bin"


UNSAFE = {
    "parent": lambda folder: "../outside.bin",
    "through-subfolder": _through_subfolder,
    "absolute": lambda folder: "/etc/passwd",
    "absolute-outside-copy": lambda folder: str(folder.parent / "outside.bin"),
    "windows-parent": lambda folder: "..\\outside.bin",
    "windows-drive": lambda folder: "C:\\outside.bin",
    "symlink-to-file": _symlink_file,
    "symlink-to-folder": _symlink_folder,
    "symlink-inside": _symlink_inside,
    "hard-link": _hard_link,
}


@pytest.mark.parametrize("make_location", UNSAFE.values(), ids=UNSAFE.keys())
def test_external_data_outside_the_folder_is_unsafe(external, make_location):
    point_weights_at(external, make_location(external.parent))
    with pytest.raises(UnsafeModel):
        thrifty.load(external)


def _in_subfolder(folder: Path) -> str:
    (folder / "sub").mkdir()
    (folder / "weights.bin").rename(folder / "sub" / "w.bin")
    return "sub/w.bin"


SAFE = {
    "beside": lambda folder: "weights.bin",
    "subfolder": _in_subfolder,
}


@pytest.mark.parametrize("make_location", SAFE.values(), ids=SAFE.keys())
def test_external_data_inside_the_folder_loads_and_runs(external, make_location):
    point_weights_at(external, make_location(external.parent))
    model = thrifty.load(external)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(thrifty.open_session(model).run(x), x @ WEIGHTS, rtol=1e-6)


def test_missing_external_data_is_corrupt(external):
    (external.parent / "weights.bin").unlink()
    with pytest.raises(CorruptModel):
        thrifty.load(external)


# --- corrupt, unknown, missing -------------------------------------------------------------------


def _damaged_zip() -> bytes:
    """A zip whose end record is intact but whose central directory is not."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model.onnx", matmul_model().SerializeToString())
    return buffer.getvalue().replace(b"PK\x01\x02", b"XXXX")


CORRUPT = {
    "random-bytes": lambda: np.random.default_rng(0).bytes(512),
    "truncated": lambda: matmul_model().SerializeToString()[:50],
    "empty": lambda: b"",
    "damaged-zip": _damaged_zip,
}


@pytest.mark.parametrize("make_bytes", CORRUPT.values(), ids=CORRUPT.keys())
def test_corrupt_onnx_is_refused(tmp_path, make_bytes):
    path = tmp_path / "model.onnx"
    path.write_bytes(make_bytes())
    with pytest.raises(CorruptModel):
        thrifty.load(path)


def test_text_file_is_an_unknown_format(tmp_path):
    path = tmp_path / "model.txt"
    path.write_text("weights: 1 2 3\n")
    with pytest.raises(UnknownModelFormat, match="ONNX"):
        thrifty.load(path)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing.onnx", "missing.onnx does not exist; check the path"),
        (".", "is a folder; give a model file (.onnx, .keras, .thrifty)"),
    ],
    ids=["missing", "a-folder"],
)
def test_path_that_is_not_a_file_is_refused(tmp_path, name, message):
    with pytest.raises(ModelError, match=re.escape(message)):
        thrifty.load(tmp_path / name)


# --- saving --------------------------------------------------------------------------------------


def test_save_leaves_no_temporary_file_and_reloads(tmp_path):
    model = thrifty.Model(proto=matmul_model(), name="m", source="test")
    path = model.save(tmp_path / "out" / "m.onnx")
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.onnx"]
    x = np.ones((2, 4), dtype=np.float32)
    np.testing.assert_allclose(thrifty.open_session(thrifty.load(path)).run(x), x @ WEIGHTS)


def test_failed_save_leaves_no_temporary_file(tmp_path):
    model = thrifty.Model(proto=matmul_model(), name="m", source="test")
    (tmp_path / "m.onnx").mkdir()  # a folder in the way: the final rename fails
    with pytest.raises(OSError):
        model.save(tmp_path / "m.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]
