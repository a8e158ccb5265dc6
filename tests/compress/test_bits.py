"""Bits: the exported graph's MatMul weights and embedding tables in 4 (or 8) bits, blockwise,
by ONNX Runtime's weight-only quantizer; the packed file keeps the codes exactly."""

import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import thrifty as th
from thrifty.compress import Bits, FineTune, Recipe
from thrifty.compress.bits import BLOCK, _quantized_tables
from thrifty.datasets.metrics import Metric, score
from thrifty.errors import DataError


@pytest.fixture(scope="module")
def four(digits, digits_baseline):
    return th.compress(digits_baseline, "bits:4", digits)


def nodes(model, op: str) -> list[onnx.NodeProto]:
    return [n for n in model.proto.graph.node if n.op_type == op]


def packed_bytes(model, path) -> int:
    th.pack(model, path)
    return path.stat().st_size


def test_bits4_keeps_accuracy_and_packs_in_a_third(
    digits, digits_baseline, four, accuracy, tmp_path
):
    assert accuracy(four, digits) >= accuracy(digits_baseline, digits) - 0.03
    # 32 bits a weight become 4, and each block of 32 adds a float32 scale and a zero point
    # (float32 for HQQ); the biases and the graph's text stay as they were
    before = packed_bytes(digits_baseline, tmp_path / "fp32.thrifty")
    assert packed_bytes(four, tmp_path / "bits4.thrifty") < before / 3
    assert four.module is None and four.metadata["recipe"] == "bits:4"


def test_every_linear_layer_is_a_matmulnbits_computing_in_int8(four):
    matmuls = nodes(four, "MatMulNBits")
    assert len(matmuls) == 3 and not nodes(four, "Gemm") and not nodes(four, "MatMul")
    for node in matmuls:
        attributes = {a.name: a.i for a in node.attribute}
        assert attributes["bits"] == 4 and attributes["block_size"] == BLOCK
        assert attributes["accuracy_level"] == 4
    assert {t.data_type for t in four.proto.graph.initializer if len(t.dims) == 3} == {
        TensorProto.UINT8
    }


def test_loading_the_quantizer_leaves_the_processes_logging_as_it_was():
    """ORT's quantizer module calls logging.basicConfig(level=INFO) when imported."""
    code = (
        "import logging; from thrifty.compress.bits import _quantizer; _quantizer(); "
        "root = logging.getLogger(); print(root.handlers, logging.getLevelName(root.level))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.split() == ["[]", "WARNING"], done.stderr


def test_without_onnx_ir_bits_says_what_to_install():
    code = (
        "import sys; sys.modules['onnx_ir'] = None\n"  # as if it were not installed
        "from thrifty.compress.bits import _quantizer\n"
        "from thrifty.errors import RuntimeUnavailable\n"
        "try:\n    _quantizer()\nexcept RuntimeUnavailable as error:\n    print(error)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "bits needs onnx_ir" in done.stdout and "pip install onnx-ir" in done.stdout


def test_bits8_is_the_gentler_step(digits, digits_baseline, accuracy):
    eight = th.compress(digits_baseline, [Bits(8)], digits)
    assert accuracy(eight, digits) >= accuracy(digits_baseline, digits) - 0.01
    assert {a.i for n in nodes(eight, "MatMulNBits") for a in n.attribute if a.name == "bits"} == {
        8
    }


def test_the_packed_file_holds_the_codes_and_gives_the_same_outputs(digits, four, tmp_path):
    header = th.pack(four, tmp_path / "m.thrifty")
    back = th.unpack(tmp_path / "m.thrifty")
    codes = {n.input[1] for n in nodes(four, "MatMulNBits")}
    stored = {t["name"]: t["dtype"] for t in header["tensors"]}
    assert {stored[name] for name in codes} == {"uint8"}
    x = digits.test.x[:64]
    before, after = (th.open_session(m, device="cpu").run(x) for m in (four, back))
    assert np.array_equal(before, after)


@pytest.mark.parametrize("width", [3, 2, 16, 0])
def test_widths_onnx_runtime_cannot_run_or_that_keep_too_little_are_refused(width):
    with pytest.raises(DataError, match=f"bits must be 4 or 8 .*; got {width}$") as refused:
        Recipe.parse(f"bits:{width}")
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    "text", ["quantize:int8-dynamic,bits:4", "bits:4,quantize:int8-dynamic", "bits:4,bits:8"]
)
def test_bits_and_quantize_do_not_follow_each_other(text):
    with pytest.raises(DataError, match=r"cannot follow (bits|quantize); steps go by stage"):
        Recipe.parse(text)


@pytest.mark.parametrize("earlier", ["prune:0.5", "channels:0.5", "share:5"])
def test_earlier_stages_then_bits(digits, digits_baseline, accuracy, earlier):
    model = th.compress(digits_baseline, f"{earlier},bits:4", digits, finetune=FineTune(epochs=2))
    assert len(nodes(model, "MatMulNBits")) == 3
    assert accuracy(model, digits) >= accuracy(digits_baseline, digits) - 0.05


def embedding_graph(rows: int, width: int) -> onnx.ModelProto:
    """Token ids -> a Gather from a float32 table -> the vectors, in opset 17."""
    table = np.random.default_rng(0).normal(size=(rows, width)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "ids"], ["vectors"], name="embed")],
        "embedding",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["n"])],
        [helper.make_tensor_value_info("vectors", TensorProto.FLOAT, ["n", width])],
        [numpy_helper.from_array(table, "table")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def test_an_embedding_table_is_gathered_from_4_bit_codes_in_uint8():
    proto = embedding_graph(300, 4 * BLOCK)
    quantized = _quantized_tables(proto)
    (node,) = quantized.graph.node
    assert node.op_type == "GatherBlockQuantized"
    assert {o.domain: o.version for o in quantized.opset_import}[""] == 17
    stored = {t.name: t for t in quantized.graph.initializer}
    assert stored[node.input[0]].data_type == TensorProto.UINT8
    assert list(stored[node.input[0]].dims) == [300, 2 * BLOCK]  # two codes a byte
    ids = np.array([0, 7, 299, 150], dtype=np.int64)
    run = (ort.InferenceSession(p.SerializeToString(), providers=["CPUExecutionProvider"])
           for p in (proto, quantized))  # fmt: skip
    exact, coded = (session.run(None, {"ids": ids})[0] for session in run)
    scales = numpy_helper.to_array(stored[node.input[2]])[ids]  # a scale per row and block
    assert np.all(np.abs(coded - exact) <= np.repeat(scales, BLOCK, axis=1) * 0.51)


def test_a_table_whose_rows_do_not_pack_in_whole_bytes_stays_float32():
    proto = embedding_graph(50, 3 * BLOCK)  # three blocks a row: ORT packs across rows
    assert _quantized_tables(proto) is proto


@pytest.mark.slow  # loading all-MiniLM-L6-v2, exporting it again, HQQ on its 36 MatMuls
def test_minilm_in_4_bits_ships_in_a_fifth_and_keeps_its_geometry(minilm, tmp_path):
    from thrifty.datasets.text import wordnet_glosses

    texts, _, _ = wordnet_glosses()
    chosen = np.random.default_rng(0).choice(len(texts), 400, replace=False)
    (tmp_path / "glosses.txt").write_text("".join(texts[i] + "\n" for i in chosen))
    data = th.datasets.load(tmp_path / "glosses.txt", model=minilm)
    smaller = th.compress(minilm, "bits:4", data)
    assert len(nodes(smaller, "GatherBlockQuantized")) == 3  # words, positions, token types
    assert len(nodes(smaller, "MatMulNBits")) == 36
    fp32 = packed_bytes(minilm, tmp_path / "fp32.thrifty")
    assert packed_bytes(smaller, tmp_path / "bits4.thrifty") < fp32 / 5  # 5.46x measured
    feed = data.test.x.feed()
    vectors = [
        ort.InferenceSession(m.to_bytes(), providers=["CPUExecutionProvider"]).run(None, feed)[0]
        for m in (minilm, smaller)
    ]
    assert score(Metric("cosine"), vectors[1], vectors[0], None) > 0.97
    assert score(Metric("spearman"), vectors[1], vectors[0], None) > 0.96
