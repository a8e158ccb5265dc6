"""The sensitivity scan as the report shows it (its layers named as the per-layer table's), and
as the optimizer reuses it: made once, for the strengths, then found by each pruning."""

from __future__ import annotations

import pytest

import thrifty as th
from thrifty.compress import FineTune, Scans, sensitivity
from thrifty.measure import count_layers


@pytest.mark.parametrize("given", ["module", "onnx"])
def test_layers_are_named_as_the_graph_names_them(digits, given, tmp_path):
    """A torch module's parameters (``fc1.weight``) and a graph's, run in PyTorch
    (``layers.n1.weight``), both become the graph's layers (``/fc1/Gemm``)."""
    model = th.load(th.models.build("tabular-mlp", (64,), 10), input_shape=(64,))
    if given == "onnx":
        model = th.load(model.save(tmp_path / "m.onnx"))
        assert model.module is None
    rows = sensitivity.suggest_strengths(model, digits, max_drop=1.0, scans=Scans()).table
    assert [r["layer"] for r in rows] == [x.name for x in count_layers(model.proto)]
    assert [r["layer"] for r in rows] == ["/fc1/Gemm", "/fc2/Gemm", "/fc3/Gemm"]


def test_pruning_finds_the_scan_the_strengths_came_from(digits, monkeypatch):
    model = th.load(th.models.build("tabular-mlp", (64,), 10), input_shape=(64,))
    scans = Scans()
    strengths = sensitivity.suggest_strengths(model, digits, max_drop=1.0, scans=scans).strengths

    def scanned_again(module, data):
        raise AssertionError("the model was scanned again")

    monkeypatch.setattr(sensitivity, "scan", scanned_again)
    recipe = f"prune:{strengths[0]:g}"
    pruned = th.compress(model, recipe, digits, finetune=FineTune(epochs=0), scans=scans)
    assert pruned.metadata["recipe"] == recipe
