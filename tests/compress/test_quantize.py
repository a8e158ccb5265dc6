"""Quantize makes the exported graph int8 or fp16: it runs in ONNX Runtime, shrinks, and keeps
its accuracy."""

import warnings

import onnx
import pytest
from onnx import TensorProto

import thrifty as th
from thrifty.compress import FineTune, Prune, Quantize, Recipe
from thrifty.errors import DataError

FAST = FineTune(epochs=2)
MODES = ("fp16", "int8-dynamic", "int8-static")


@pytest.fixture(scope="module")
def quantized(digits, digits_baseline):
    """Each mode's result, made once: quantizing is deterministic and takes no fine-tuning."""
    return {mode: th.compress(digits_baseline, [Quantize(mode)], digits) for mode in MODES}


def matrices(model) -> list[onnx.TensorProto]:
    """Initializers of two or more dimensions: the weight matrices (not scales or biases)."""
    return [t for t in model.proto.graph.initializer if len(t.dims) >= 2]


@pytest.mark.parametrize("mode", MODES)
def test_each_mode_keeps_accuracy_in_onnxruntime(
    digits, digits_baseline, quantized, accuracy, mode
):
    onnx.checker.check_model(quantized[mode].proto, full_check=True)
    assert accuracy(quantized[mode], digits) >= accuracy(digits_baseline, digits) - 0.02
    assert quantized[mode].metadata["recipe"] == f"quantize:{mode}"
    assert quantized[mode].module is None  # the torch module would no longer be what runs


@pytest.mark.parametrize("mode", ["int8-dynamic", "int8-static"])
def test_int8_stores_weights_in_a_quarter_of_the_bytes(digits_baseline, quantized, mode):
    model = quantized[mode]
    assert {t.data_type for t in matrices(model)} == {TensorProto.INT8}
    # weights shrink 4x; scales, zero points, int32 biases and the graph's text remain
    assert len(digits_baseline.to_bytes()) / len(model.to_bytes()) > 2.5


def test_fp16_halves_the_weights_and_keeps_float32_at_the_edges(digits_baseline, quantized):
    model = quantized["fp16"]
    assert {t.data_type for t in model.proto.graph.initializer} == {TensorProto.FLOAT16}
    assert len(digits_baseline.to_bytes()) / len(model.to_bytes()) > 1.8
    edges = [*model.proto.graph.input, *model.proto.graph.output]
    assert {v.type.tensor_type.elem_type for v in edges} == {TensorProto.FLOAT}


def test_quantize_must_come_last(digits, digits_baseline):
    with pytest.raises(DataError, match="prune cannot follow quantize"):
        th.compress(digits_baseline, [Quantize("int8-dynamic"), Prune(0.5)], digits)


@pytest.mark.parametrize("mode", ["int8", "int4", "FP16", "", "int8-dynamic-keep0", "fp16-keep1"])
def test_unknown_modes_are_refused(mode):
    with pytest.raises(DataError, match="quantize mode"):
        Quantize(mode)
    with pytest.raises(DataError):
        Recipe.parse(f"quantize:{mode}")


def test_a_recipe_in_text_prunes_then_quantizes(digits, digits_baseline, accuracy):
    result = th.compress(digits_baseline, "prune:0.5,quantize:int8-static", digits, finetune=FAST)
    assert result.metadata["recipe"] == "prune:0.5,quantize:int8-static"
    assert {t.data_type for t in matrices(result)} == {TensorProto.INT8}
    assert accuracy(result, digits) >= accuracy(digits_baseline, digits) - 0.03


@pytest.fixture(scope="module")
def sklearn_mlp(digits, tmp_path_factory):
    """scikit-learn's MLP by skl2onnx: MatMul + Add layers, a Cast and a label head."""
    from skl2onnx import to_onnx
    from sklearn.neural_network import MLPClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not converged in 200 iterations; accurate enough
        classifier = MLPClassifier((32,), random_state=0).fit(digits.train.x, digits.train.y)
    proto = to_onnx(classifier, digits.train.x[:1], options={"zipmap": False})
    path = tmp_path_factory.mktemp("sklearn") / "mlp.onnx"
    path.write_bytes(proto.SerializeToString())
    return th.load(path)


@pytest.mark.parametrize("mode", MODES)
def test_a_graph_from_another_converter_quantizes(digits, sklearn_mlp, accuracy, mode):
    """Regressions: fp16 must retype the Cast; per-channel int8-static must not meet a fused
    Gemm whose bias is 2-D (ONNX Runtime 1.32 fails on it)."""
    result = th.compress(sklearn_mlp, [Quantize(mode)], digits)
    onnx.checker.check_model(result.proto, full_check=True)
    assert accuracy(result, digits) >= accuracy(sklearn_mlp, digits) - 0.02
    assert len(result.to_bytes()) < len(sklearn_mlp.to_bytes())


@pytest.mark.parametrize("mode", ["int8-dynamic", "int8-static"])
def test_shared_weights_keep_few_int8_codes(digits, digits_baseline, quantized, mode):
    """One scale per tensor once the weights are shared: each matrix's 16 values stay at most
    16 int8 codes (a scale per channel, kept for weights not shared, gives each row its own)."""
    from onnx import numpy_helper

    shared = th.compress(digits_baseline, f"share:4,quantize:{mode}", digits, finetune=FAST)
    codes = [len(set(numpy_helper.to_array(t).ravel())) for t in matrices(shared)]
    assert codes and max(codes) <= 16
    plain = [len(set(numpy_helper.to_array(t).ravel())) for t in matrices(quantized[mode])]
    assert max(plain) > 16
    scales = [t for t in shared.proto.graph.initializer if "scale" in t.name and t.dims]
    assert not [t for t in scales if t.dims[0] > 1]  # no scale per channel


def float_products(model) -> list[str]:
    """The matrix products whose weight is a stored float32 (not int8, nor dequantized)."""
    stored = {t.name for t in model.proto.graph.initializer if t.data_type == TensorProto.FLOAT}
    return [n.name for n in model.proto.graph.node
            if n.op_type in ("MatMul", "Gemm") and n.input[1] in stored]  # fmt: skip


@pytest.mark.parametrize("mode", ["int8-dynamic", "int8-static"])
def test_mixed_precision_keeps_the_layers_int8_hurts_most_in_float(digits, digits_baseline, mode):
    from thrifty.compress.int8_scan import scan_of
    from thrifty.compress.registry import Context

    scans = th.compress.Scans()
    mixed = th.compress(digits_baseline, [Quantize(f"{mode}-keep1")], digits, scans=scans)
    context = Context(digits, None, FineTune(), print, scans)
    worst = scan_of(digits_baseline, digits, context).worst(1)  # remembered: not scanned again
    assert float_products(digits_baseline) == ["/fc1/Gemm", "/fc2/Gemm", "/fc3/Gemm"]
    # the worst stays float (dynamic int8 first splits a Gemm into MatMul + Add), the rest int8
    assert float_products(mixed) in ([worst[0]], [f"{worst[0]}_MatMul"])
    assert float_products(th.compress(digits_baseline, [Quantize(mode)], digits)) == []
    assert mixed.metadata["recipe"] == f"quantize:{mode}-keep1"
    assert Recipe.parse(f"quantize:{mode}-keep1").steps == (Quantize(f"{mode}-keep1"),)


def test_the_fewest_layers_are_kept_that_bring_the_rest_within_the_budget():
    import numpy as np

    from thrifty.compress.int8_scan import Int8Scan

    scan = Int8Scan(("a", "b", "c", "d", "e", "f"), np.array([0.1, 0.5, 0.0, 0.2, 0.05, 0.05]))
    assert scan.worst(2) == ("b", "d")
    assert scan.kept_for(1.0) == 0  # 0.9 in all
    assert scan.kept_for(0.4) == 1  # without b: 0.4
    assert scan.kept_for(0.35) == scan.kept_for(0.2) == 2  # without d too: 0.2
    assert scan.kept_for(0.1) is None  # would keep more than a third


def test_the_optimizer_is_offered_the_counts_the_budget_needs(digits, digits_baseline):
    from thrifty.compress.int8_scan import suggest_kept

    suggested = suggest_kept(digits_baseline, digits, 0.0, th.compress.Scans())
    assert all(s.startswith("int8-dynamic-keep") for s in suggested.strengths)
    assert [row["layer"] for row in suggested.table] == [
        n.name for n in digits_baseline.proto.graph.node if n.op_type in ("MatMul", "Gemm")
    ]
    assert all(row["params"] > 0 and set(row["drops"]) == {"int8"} for row in suggested.table)
    assert suggest_kept(digits_baseline, digits, 50.0, th.compress.Scans()).strengths == ()


@pytest.mark.slow
def test_minilm_in_mixed_precision_agrees_better_than_all_int8(minilm, tmp_path):
    """all-MiniLM-L6-v2 on WordNet glosses: keeping the 2 layers int8 hurts most in float32
    loses less spearman than int8 everywhere, and the file still shrinks by more than half."""
    import numpy as np

    from thrifty.datasets.text import wordnet_glosses
    from thrifty.measure.quality import referenced

    texts, _, _ = wordnet_glosses()
    chosen = np.random.default_rng(0).choice(len(texts), 600, replace=False)
    (tmp_path / "glosses.txt").write_text("\n".join(texts[i] for i in chosen) + "\n")
    data = th.datasets.load(tmp_path / "glosses.txt", model=minilm)
    data = referenced(data, minilm)  # the original's vectors: what spearman compares with

    def spearman(model):
        return th.profile(model, data, split="test", timing_budget_s=0.0).quality.value

    scans = th.compress.Scans()
    everywhere = th.compress(minilm, "quantize:int8-dynamic", data)
    mixed = th.compress(minilm, "quantize:int8-dynamic-keep2", data, scans=scans)
    assert spearman(mixed) > spearman(everywhere)
    assert len(mixed.to_bytes()) < len(minilm.to_bytes()) / 2
