"""A search small enough for a test (two quick techniques, bits trying none, two rungs, one
pruning strength, set through the techniques' declarations as a new technique would set them),
and a model."""

from dataclasses import replace

import pytest

import thrifty as th
import thrifty.compress.sensitivity as sensitivity
import thrifty.optimize.search as search
from thrifty.compress.registry import TECHNIQUES


@pytest.fixture
def small_search(monkeypatch, tmp_path):
    quick = (("quantize", ("int8-dynamic",), ()), ("channels", (0.5,), ()), ("bits", (), ()))
    for name, tries, gentler in quick:
        declared = TECHNIQUES[name]
        strength = replace(declared.strength, tries=tries, gentler=gentler)
        monkeypatch.setitem(TECHNIQUES, name, replace(declared, strength=strength))
    monkeypatch.setattr(search, "RUNGS", (1, 2))
    monkeypatch.setattr(sensitivity, "TOLERANCES", (4,))  # one pruning strength
    monkeypatch.setenv("THRIFTY_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def model(digits, tmp_path_factory):
    """A digits MLP trained briefly, as an ONNX file."""
    module = th.models.build("tabular-mlp", (64,), 10, steps=digits.training_steps)
    th.models.train(module, digits, th.models.TrainConfig(epochs=15))
    path = tmp_path_factory.mktemp("model") / "digits.onnx"
    th.load(module, input_shape=(64,)).save(path)
    return path
