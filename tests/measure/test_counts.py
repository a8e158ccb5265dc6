"""Counts are exact: checked against hand computation, layer by layer."""

import pytest

import thrifty as th
from thrifty.measure import count_layers


def _counts(name, input_shape, outputs=10):
    model = th.load(th.models.build(name, input_shape, outputs), input_shape=input_shape)
    layers = count_layers(model.proto)
    return layers, sum(layer.params for layer in layers), sum(layer.macs for layer in layers)


def test_lenet_300_100():
    layers, params, macs = _counts("lenet-300-100", (1, 28, 28))
    assert [layer.macs for layer in layers] == [784 * 300, 300 * 100, 100 * 10]
    assert params == (784 * 300 + 300) + (300 * 100 + 100) + (100 * 10 + 10) == 266_610
    assert macs == 266_200
    assert sum(layer.bytes for layer in layers) == 4 * 266_610


def test_lenet_5():
    layers, params, macs = _counts("lenet-5", (1, 28, 28))
    conv1 = 24 * 24 * 20 * (1 * 5 * 5)  # 28-5+1 = 24; each output sums 1 channel x 5x5
    conv2 = 8 * 8 * 50 * (20 * 5 * 5)  # pooled to 12, 12-5+1 = 8; each sums 20 channels x 5x5
    fc1, fc2 = 4 * 4 * 50 * 500, 500 * 10  # pooled to 4x4x50 = 800 inputs
    assert [layer.macs for layer in layers] == [conv1, conv2, fc1, fc2]
    assert macs == 2_293_000
    assert params == (20 * 25 + 20) + (50 * 20 * 25 + 50) + (800 * 500 + 500) + (500 * 10 + 10)
    assert params == 431_080


def test_mlp_2048():
    _, params, macs = _counts("mlp-2048", (1, 28, 28))
    assert macs == 784 * 2048 + 2048 * 2048 + 2048 * 10
    assert params == macs + 2048 + 2048 + 10


@pytest.mark.parametrize("groups", [1, 2])
def test_grouped_conv_and_matmul(groups):
    from torch import nn

    module = nn.Sequential(nn.Conv2d(4, 8, 3, groups=groups, bias=False), nn.Flatten())
    model = th.load(module, input_shape=(4, 10, 10))
    (layer,) = count_layers(model.proto)
    assert layer.macs == 8 * 8 * 8 * (4 // groups) * 3 * 3
    assert layer.params == 8 * (4 // groups) * 9
