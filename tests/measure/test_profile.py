import json

import numpy as np
import pytest

import thrifty as th
from thrifty.errors import DataMismatch
from thrifty.report import profile_document


def test_profile_of_a_torch_module(digits):
    model = th.models.build("tabular-mlp", digits.input_shape, 10)
    cost = th.profile(model, digits, timing_budget_s=0.05)
    assert cost.storage.params == sum(p.numel() for p in model.parameters())
    assert cost.quality.metric == "accuracy" and cost.quality.rows == len(digits.test)
    assert cost.compute.throughput.samples_per_s > 0
    assert cost.compute.latency.p95_ms >= cost.compute.latency.p50_ms > 0
    assert cost.bandwidth.request_bytes == 64 * 4 and cost.bandwidth.response_bytes == 10 * 4
    assert (
        cost.storage.bytes
        == cost.bandwidth.bytes_to_ship
        == len(th.load(model, input_shape=(64,)).to_bytes())
    )


def test_profile_document_has_every_part(digits):
    model = th.models.build("lenet-300-100", digits.input_shape, 10)
    cost = th.profile(model, digits, timing_budget_s=0.05)
    document = json.loads(json.dumps(profile_document(cost, th.Bill.of(cost, th.load_pricing()))))
    assert {"compute", "storage", "bandwidth", "quality", "bill", "layers"} <= set(document)
    assert document["bill"]["total_usd"] > 0
    assert [layer["macs"] for layer in document["layers"]] == [64 * 300, 300 * 100, 100 * 10]


def test_torch_and_onnxruntime_agree_on_quality(digits):
    model = th.load(th.models.build("lenet-300-100", digits.input_shape, 10), input_shape=(64,))
    ort, torch = (
        th.profile(model, digits, runtime=r, timing_budget_s=0.05) for r in ("onnxruntime", "torch")
    )
    assert ort.quality.value == pytest.approx(torch.quality.value, abs=1 / len(digits.test))


def test_profile_of_an_onnx_file_from_another_converter(tmp_path, digits):
    """scikit-learn's MLP converted by skl2onnx: its own graph, op names and two outputs."""
    from skl2onnx import to_onnx
    from sklearn.neural_network import MLPClassifier

    classifier = MLPClassifier((32,), max_iter=300, random_state=0)
    classifier.fit(digits.train.x, digits.train.y)
    proto = to_onnx(classifier, digits.train.x[:1], options={"zipmap": False})
    path = tmp_path / "sklearn-mlp.onnx"
    path.write_bytes(proto.SerializeToString())

    cost = th.profile(th.load(path), digits, timing_budget_s=0.05)
    assert cost.quality.value == pytest.approx(classifier.score(digits.test.x, digits.test.y))
    assert cost.storage.params == 64 * 32 + 32 + 32 * 10 + 10
    assert cost.compute.macs_per_sample == 64 * 32 + 32 * 10


def test_data_that_does_not_fit_the_model(digits):
    model = th.load(th.models.build("lenet-300-100", (30,), 2), input_shape=(30,))
    with pytest.raises(DataMismatch, match=r"shape \(64,\) but model"):
        th.profile(model, digits)


def test_flat_and_image_layouts_are_reshaped(fashion):
    """A model exported for flat 784 inputs takes 1x28x28 images: same numbers, other layout."""
    flat = th.load(th.models.build("lenet-300-100", (784,), 10), input_shape=(784,))
    x = flat.fit_inputs(fashion.test.x[:3])
    assert x.shape == (3, 784) and np.array_equal(x[0], fashion.test.x[0].ravel())
