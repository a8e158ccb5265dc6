"""OpenVINO as a runtime: its scores are ONNX Runtime's, on the threads and in the precision
asked for; a graph it cannot read is one line, and the optimizer measures it beside the rest."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from predicted import check

import thrifty as th
from thrifty.compress import Quantize
from thrifty.datasets import Split
from thrifty.errors import ModelError, RuntimeUnavailable
from thrifty.optimize.deploy import measure_options, options
from thrifty.predict.session import available_cores
from thrifty.predict.worker import Plan, Worker

pytestmark = pytest.mark.timeout(300)

TEXTS = [
    "a cat",
    "the domestic dog, a member of the genus Canis, is a carnivore of the family Canidae",
    "an open-source toolkit for optimizing and deploying deep learning models on Intel CPUs",
]


@pytest.fixture(scope="module")
def lenet():
    return th.load(th.models.build("lenet-5", (1, 28, 28), 10), input_shape=(1, 28, 28))


@pytest.fixture(scope="module")
def quantized(digits, digits_baseline):
    return {
        m: th.compress(digits_baseline, [Quantize(m)], digits)
        for m in ("int8-static", "int8-dynamic")
    }


def inverse() -> th.Model:
    """A graph ONNX Runtime runs and OpenVINO's ONNX reader cannot: ONNX Runtime's contrib
    operator ``com.microsoft.Inverse``, then the four entries as a classifier's scores."""
    nodes = [
        helper.make_node("Inverse", ["x"], ["inverse"], domain="com.microsoft"),
        helper.make_node("Flatten", ["inverse"], ["scores"]),
    ]
    graph = helper.make_graph(
        nodes, "inverse",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 2, 2])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["n", 4])],
    )  # fmt: skip
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    return th.Model(helper.make_model(graph, opset_imports=opsets), "inverse", "test")


@pytest.mark.parametrize("batch", [1, 7, 64])
def test_scores_are_onnxruntimes_at_any_batch_size(lenet, batch):
    x = np.random.default_rng(batch).random((batch, 1, 28, 28), dtype=np.float32)
    with th.open_session(lenet, "openvino", device="cpu", threads=1) as session:
        scores = session.run(x)
    assert (session.runtime, session.device, session.precision) == ("openvino", "cpu", "fp32")
    assert scores.shape == (batch, 10) and scores.dtype == np.float32
    ort = th.open_session(lenet, "onnxruntime", threads=1).run(x)
    np.testing.assert_allclose(scores, ort, rtol=1e-5, atol=1e-5)


def test_read_only_and_strided_rows_and_outputs_that_stay(lenet):
    """A memmap's rows are read-only, a column slice is strided; a batch's scores are its own,
    not a view the next batch overwrites."""
    x = np.random.default_rng(5).random((16, 1, 28, 28), dtype=np.float32)
    ort = th.open_session(lenet, "onnxruntime", threads=1).run(x)
    session = th.open_session(lenet, "openvino", threads=1)
    read_only = x.copy()
    read_only.flags.writeable = False
    first = session.run(read_only)
    session.run(np.zeros_like(x))
    np.testing.assert_allclose(first, ort, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(session.run(np.asfortranarray(x)), ort, rtol=1e-5, atol=1e-5)


def test_minilm_vectors_are_onnxruntimes(minilm):
    """Named token inputs, each batch padded to its own longest text (two sequence lengths)."""
    ov = th.open_session(minilm, "openvino", threads=1)
    ort = th.open_session(minilm, "onnxruntime", threads=1)
    for texts in (TEXTS[:1], TEXTS):
        batch = minilm.text_encoding(texts).feed()
        a, b = ov.run(batch), ort.run(batch)
        assert a.shape == (len(texts), 384)
        cosine = (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
        assert cosine.min() > 0.9999


def test_the_threads_are_what_openvino_compiled_with(lenet):
    assert th.open_session(lenet, "openvino", threads=1).threads == 1
    cores = available_cores()
    assert th.open_session(lenet, "openvino", threads=cores).threads == cores
    assert th.open_session(lenet, "openvino", threads=cores + 8).threads == cores  # no more


def test_auto_runs_on_the_cpu_and_cuda_is_one_line(lenet):
    assert th.open_session(lenet, "openvino", device="auto").device == "cpu"
    with pytest.raises(RuntimeUnavailable, match="--device cpu"):
        th.open_session(lenet, "openvino", device="cuda")


def test_fp32_is_float32_even_where_the_cpu_has_bfloat16(lenet):
    """OpenVINO's default on a CPU with AMX or AVX512-BF16 is bfloat16: fp32 must not be."""
    import openvino as ov

    x = np.random.default_rng(3).random((32, 1, 28, 28), dtype=np.float32)
    ort = th.open_session(lenet, "onnxruntime", threads=1).run(x)
    fp32 = th.open_session(lenet, "openvino", threads=1, precision="fp32").run(x)
    assert np.abs(fp32 - ort).max() < 1e-5
    if "BF16" not in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
        with pytest.raises(RuntimeUnavailable, match="--precision fp32"):
            th.open_session(lenet, "openvino", precision="bf16")
        return
    bf16 = th.open_session(lenet, "openvino", threads=1, precision="bf16").run(x)
    assert 1e-4 < np.abs(bf16 - ort).max() < 0.05  # lowered, as asked, and still close


@pytest.mark.parametrize("mode", ["int8-static", "int8-dynamic"])
def test_int8_graphs_run_and_score_as_in_onnxruntime(digits, quantized, mode):
    """OpenVINO runs ONNX Runtime's QDQ and integer graphs; their quality is measured in it."""
    model = quantized[mode]
    ort, ov = (th.profile(model, digits, runtime=r, threads=1, timing_budget_s=0.02)
               for r in ("onnxruntime", "openvino"))  # fmt: skip
    assert ov.compute.runtime == "openvino"
    assert ov.quality.value > 0.85
    assert abs(ov.quality.value - ort.quality.value) <= 0.01


def test_a_graph_openvino_cannot_read_is_one_line():
    with pytest.raises(ModelError) as raised:
        th.open_session(inverse(), "openvino")
    message = str(raised.value)
    assert "\n" not in message and "com.microsoft.Inverse" in message
    assert message.startswith("OpenVINO cannot run model 'inverse'")
    assert message.endswith("use --runtime onnxruntime")


def test_unreadable_bytes_are_one_line():
    model = th.Model(onnx.ModelProto(), "empty", "test")  # no graph at all
    with pytest.raises(ModelError, match="^OpenVINO cannot run model 'empty' [^\n]*$"):
        th.open_session(model, "openvino")


def test_the_optimizer_measures_openvino_beside_the_others(digits_baseline, quantized):
    """At one thread and at every core, for float and integer graphs alike."""
    cores = sorted({1, available_cores()})
    for model in (digits_baseline, *quantized.values()):
        listed = options(model, [])
        assert listed[: 2 * len(cores)] == [
            (r, t) for r in ("onnxruntime", "openvino") for t in cores
        ]


def test_an_option_openvino_cannot_run_is_skipped():
    rng = np.random.default_rng(0)
    x = (rng.random((64, 2, 2)) + 2 * np.eye(2)).astype(np.float32)  # invertible
    data = Split(x, rng.integers(0, 4, 64))
    measured = measure_options(inverse(), data, [], th.load_pricing(), th.Workload())
    assert {o["runtime"] for o in measured} == {"onnxruntime"}


def test_the_command_line_predicts_with_openvino_in_workers(tmp_path):
    """``thrifty predict --runtime openvino``: two worker processes of one thread each, and
    every row once, with ONNX Runtime's class and probabilities."""
    model = tmp_path / "m.onnx"
    th.load(th.models.build("tabular-mlp", (8,), 3), input_shape=(8,)).save(model)
    rows = np.random.default_rng(0).random((3_000, 8), dtype=np.float32)
    np.save(tmp_path / "x.npy", rows)
    out = tmp_path / "p.npy"
    done = subprocess.run(
        [sys.executable, "-m", "thrifty.cli", "predict", str(model), str(tmp_path / "x.npy"),
         "-o", str(out), "--runtime", "openvino", "--workers", "2", "--threads", "1"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "predicted 3,000 rows" in done.stdout
    assert "OpenVINO, 1 thread per worker, 2 workers" in done.stdout
    records = np.load(out)
    check(model, rows, records["row"], records["class"], records["probabilities"])


def test_a_worker_runs_openvino_on_its_plans_threads(tmp_path):
    model = tmp_path / "m.onnx"
    th.load(th.models.build("tabular-mlp", (8,), 3), input_shape=(8,)).save(model)
    np.save(tmp_path / "x.npy", np.zeros((10, 8), np.float32))
    plan = Plan(model, tmp_path / "x.npy", tmp_path / "out", "openvino", "auto", 1, 64)
    session = Worker(plan).session
    assert (session.runtime, session.device, session.threads) == ("openvino", "cpu", 1)


def test_the_help_lists_openvino():
    done = subprocess.run(
        [sys.executable, "-m", "thrifty.cli", "predict", "--help"], capture_output=True, text=True
    )
    assert "openvino" in done.stdout
