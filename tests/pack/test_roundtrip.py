"""Packing is lossless, deterministic and dedup-friendly, for every dtype, shape and pattern.

Lossless means bit-identical: -0.0 stays -0.0, every NaN keeps its payload, and the arrays come
back with their dtype, shape and initializer order. Deterministic means the same model packs to
the same bytes; dedup-friendly, that a tensor's record does not change when another one does.
"""

from __future__ import annotations

from math import prod

import numpy as np
import onnx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from onnx import helper, numpy_helper

from thrifty.pack.format import BITS, DTYPES, numpy_dtype
from thrifty.pack.inspect import describe
from thrifty.pack.reader import read_pack
from thrifty.pack.writer import write_pack

pytestmark = pytest.mark.timeout(120)

# Bit patterns: -0.0, +-inf, quiet and signalling NaNs with payloads, a negative NaN with every
# payload bit set, the smallest subnormal. Integers: 1, all ones (-1), the sign bit alone (min).
SPECIAL = {
    "float32": [0x80000000, 0x7F800000, 0xFF800000, 0x7FC00001, 0x7F800001, 0xFFFFFFFF, 1],
    "float16": [0x8000, 0x7C00, 0xFC00, 0x7E01, 0x7C01, 0xFFFF, 1],
    "bfloat16": [0x8000, 0x7F80, 0xFF80, 0x7FC1, 0x7F81, 0xFFFF, 1],
    "float64": [
        *(0x8000000000000000, 0x7FF0000000000000, 0xFFF0000000000000),
        *(0x7FF8000000000001, 0x7FF0000000000001, 0xFFFFFFFFFFFFFFFF, 1),
    ],
}


def special(dtype: str) -> list[int]:
    bits = 8 * DTYPES[dtype][0]
    return SPECIAL.get(dtype, [1, 2**bits - 1, 2 ** (bits - 1)])


@st.composite
def arrays(draw) -> np.ndarray:
    """One tensor: any dtype; a scalar, an empty shape, small or over 64 elements; random bits,
    a codebook of 1 to 300 values, or special values; 0% to 100% of its elements zero."""
    dtype = draw(st.sampled_from(sorted(DTYPES)))
    shape = draw(
        st.just([])
        | st.lists(st.integers(0, 16), min_size=1, max_size=3)
        | st.integers(0, 3000).map(lambda n: [n])
    )
    count, width = prod(shape), DTYPES[dtype][0]
    kind = draw(st.sampled_from(["random", "codebook", "special"]))
    zeros = draw(st.sampled_from([0.0, 0.5, 0.9, 1.0]) | st.floats(0, 1))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "random":
        bits = rng.integers(0, 256, count * width, dtype=np.uint8).view(BITS[width])
    else:
        size = draw(st.integers(1, 300)) if kind == "codebook" else 4
        table = rng.integers(0, 256, size * width, dtype=np.uint8).view(BITS[width])
        if kind == "special":
            table = np.concatenate([table, np.array(special(dtype), dtype=BITS[width])])
        bits = table[rng.integers(0, len(table), count)]
    bits[rng.random(count) < zeros] = 0
    if dtype == "bool":
        bits &= 1
    return bits.view(numpy_dtype(dtype)).reshape(shape)


def model(tensors: list[np.ndarray], names: list[str]) -> onnx.ModelProto:
    """An Identity graph; the tensors are initializers that no node uses, which ONNX allows."""
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])
    initializers = [numpy_helper.from_array(t, n) for t, n in zip(tensors, names, strict=True)]
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y])
    graph.initializer.extend(initializers)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(proto)
    return proto


def names_for(count: int, suffixes: list[str]) -> list[str]:
    return [f"t{i}.{suffix}" for i, suffix in enumerate(suffixes[:count])]


def same_bits(got: np.ndarray, want: np.ndarray) -> bool:
    return (
        got.dtype == want.dtype
        and got.shape == want.shape
        and np.ascontiguousarray(got).view(np.uint8).tobytes()
        == np.ascontiguousarray(want).view(np.uint8).tobytes()
    )


def special_floats(dtype: str, count: int) -> np.ndarray:
    width = DTYPES[dtype][0]
    table = np.array([0, *special(dtype)], dtype=BITS[width])
    return table[np.arange(count) % len(table)].view(numpy_dtype(dtype))


EXAMPLES = [
    [special_floats(dtype, 100) for dtype in ("float32", "float16", "bfloat16", "float64")],
    [np.zeros((0, 3), np.float16), np.array(True), np.zeros(300, np.uint64)],
    [np.arange(300, dtype=np.int16) % 300, np.where(np.arange(1000) % 97, 0, 1.5)],
]
NAMES = st.lists(st.text(min_size=1, max_size=6), min_size=4, max_size=4)


@settings(max_examples=60, deadline=None)
@given(tensors=st.lists(arrays(), min_size=1, max_size=4), suffixes=NAMES)
@example(tensors=EXAMPLES[0], suffixes=["a", "b", "c", "d"])
@example(tensors=EXAMPLES[1], suffixes=["é", "\x00", "名", "d"])
@example(tensors=EXAMPLES[2], suffixes=["a", "b", "c", "d"])
def test_pack_is_lossless_deterministic_and_dedup_friendly(tmp_path_factory, tensors, suffixes):
    folder = tmp_path_factory.mktemp("roundtrip")
    names = names_for(len(tensors), suffixes)
    proto = model(tensors, names)
    header = write_pack(proto, folder / "a.thrifty")
    packed = read_pack(folder / "a.thrifty")

    assert [t["name"] for t in header["tensors"]] == names
    assert [t.name for t in packed.proto.graph.initializer] == names
    for name, tensor, initializer in zip(
        names, tensors, packed.proto.graph.initializer, strict=True
    ):
        assert same_bits(packed.arrays[name], tensor), name
        assert same_bits(numpy_helper.to_array(initializer), tensor), name

    write_pack(proto, folder / "b.thrifty")
    assert (folder / "a.thrifty").read_bytes() == (folder / "b.thrifty").read_bytes()

    changed = [tensors[0].reshape(-1)[:1] + 1 if tensors[0].size else np.ones(1, np.int8)]
    other = write_pack(model(changed + tensors[1:], names), folder / "c.thrifty")
    for before, after in zip(header["tensors"][1:], other["tensors"][1:], strict=True):
        assert (before["sha256"], before["length"]) == (after["sha256"], after["length"])
        assert {**before, "offset": 0} == {**after, "offset": 0}


def test_the_examples_take_every_layout_method_and_coder(tmp_path):
    """The explicit examples alone cover every encoding, so none is left to chance."""
    tensors = [t for group in EXAMPLES for t in group]
    tensors.append(np.tile(np.arange(64, dtype=np.uint8), 8))  # zstd wins on repeats
    rng = np.random.default_rng(0)
    tensors.append((rng.random(2000) < 0.3).astype(np.float32))
    # sparse layouts win where the values are too many for a codebook
    tensors.append(np.where(rng.random(4800) < 0.02, rng.standard_normal(4800), 0).astype("f2"))
    tensors.append(np.zeros(2400, np.float32))
    tensors[-1][7::8] = rng.standard_normal(300)  # regular positions: gaps of one value
    tensors.append(np.float32([0.5, -1.5, 2, 0.25])[rng.integers(0, 4, 203)])  # bitpack wins
    names = [f"t{i}" for i in range(len(tensors))]
    header = write_pack(model(tensors, names), tmp_path / "m.thrifty")
    seen = " ".join(describe(entry) for entry in header["tensors"])
    words = ["dense raw/raw", "raw/zstd", "codebook", "bitmask", "gaps", "bitpack", "rans"]
    for word in [*words, "enumerative"]:
        assert word in seen, (word, seen)
    packed = read_pack(tmp_path / "m.thrifty")
    assert all(same_bits(packed.arrays[n], t) for n, t in zip(names, tensors, strict=True))


def test_enumerative_coding_stops_at_the_files_budget(tmp_path, monkeypatch):
    """Past MAX_ENUMERATIVE_SYMBOLS a file's further tensors use the next best coders."""
    import thrifty.pack.writer as writer

    masks = [(np.random.default_rng(i).random(1000) < 0.1).astype(np.float32) for i in range(3)]
    names = ["a", "b", "c"]
    coders = lambda header: [t["values"]["coder"] for t in header["tensors"]]  # noqa: E731
    assert coders(write_pack(model(masks, names), tmp_path / "all.thrifty")) == ["enumerative"] * 3
    monkeypatch.setattr(writer, "MAX_ENUMERATIVE_SYMBOLS", 2500)
    header = write_pack(model(masks, names), tmp_path / "budget.thrifty")
    assert coders(header) == ["enumerative"] * 2 + ["rans"]
    packed = read_pack(tmp_path / "budget.thrifty")
    assert all(same_bits(packed.arrays[n], t) for n, t in zip(names, masks, strict=True))
