"""Zoo baselines on Fashion-MNIST: accuracy targets, and the ONNX export agrees with PyTorch."""

import numpy as np
import pytest
import torch

import thrifty as th

pytestmark = pytest.mark.slow


def test_lenet_300_100_reaches_89_percent(trained):
    report, _ = trained("lenet-300-100")
    assert report["test"] >= 0.89  # the published figure on Fashion-MNIST is 89.8%


def test_lenet_5_reaches_90_percent(trained):
    report, _ = trained("lenet-5")
    assert report["test"] >= 0.90


def test_onnx_export_agrees_with_the_module(fashion):
    """Train briefly, export, compare on the whole test set.

    Outputs are logits of magnitude ~20, so float32 rounding in two GEMM libraries (MKL for
    PyTorch, MLAS for ONNX Runtime) differs by a few units in the 6th significant digit: the
    check is 1e-5 relative to the largest logit, and 1e-5 absolute on the softmax.
    """
    data = fashion
    module = th.models.build("lenet-300-100", data.input_shape, 10, steps=data.training_steps)
    result = th.models.train(module, data, th.models.TrainConfig(epochs=3))
    model = th.load(result.module, input_shape=data.input_shape)
    ort = th.open_session(model, device="cpu").run(data.test.x)
    with torch.inference_mode():
        reference = result.module(torch.from_numpy(data.test.x)).numpy()
    scale = np.abs(reference).max()
    assert np.abs(ort - reference).max() <= 1e-5 * scale
    softmax = [torch.softmax(torch.from_numpy(a), 1).numpy() for a in (ort, reference)]
    assert np.abs(softmax[0] - softmax[1]).max() < 1e-5
    assert (ort.argmax(1) == reference.argmax(1)).mean() > 0.999
