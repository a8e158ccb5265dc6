"""The sparse execution path: pruned linear layers as CSR matrices, chosen where timed faster,
giving the same outputs as the dense graph."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import thrifty as th
import thrifty.predict.sparse as sparse
from thrifty.errors import RuntimeUnavailable
from thrifty.models.onnx_torch import to_torch


@pytest.fixture(scope="module")
def pruned():
    """LeNet-300-100 with 95% of its weights zero."""
    module = th.models.build("lenet-300-100", (784,), 10)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, torch.nn.Linear):
                layer.weight.mul_(torch.rand(layer.weight.shape, generator=generator) > 0.95)
    return th.load(module, input_shape=(784,))


def test_a_sparse_layer_computes_what_the_dense_one_does():
    dense = torch.nn.Linear(50, 20)
    with torch.no_grad():
        dense.weight.mul_(torch.rand(20, 50) > 0.9)
    for x in (torch.randn(33, 50), torch.randn(4, 9, 50)):  # rows; texts of tokens
        with torch.inference_mode():
            got = sparse.SparseLinear(dense)(x)
            np.testing.assert_allclose(got, dense(x), rtol=1e-5, atol=1e-6)


def test_layers_are_made_sparse_only_where_timed_faster(pruned, monkeypatch):
    module = to_torch(pruned)
    monkeypatch.setattr(sparse, "_seconds", lambda layer, probe: 1.0 if isinstance(
        layer, sparse.SparseLinear) and layer.out_features == 10 else 2.0)  # fmt: skip
    replaced = sparse.sparsify(module)
    kinds = [type(m).__name__ for m in module.modules() if hasattr(m, "out_features")]
    assert len(replaced) == 1 and kinds.count("SparseLinear") == 1


def test_the_torch_sparse_runtime_agrees_with_onnxruntime(pruned, monkeypatch):
    monkeypatch.setattr(
        sparse, "_seconds", lambda layer, probe: float(not isinstance(layer, sparse.SparseLinear))
    )  # fmt: skip  (every layer: sparse)
    x = np.random.default_rng(0).random((70, 784), dtype=np.float32)
    session = th.open_session(pruned, "torch-sparse", device="cpu", threads=1)
    assert session.runtime == "torch-sparse" and len(session.sparse_layers) == 3
    dense = th.open_session(pruned, "onnxruntime", device="cpu", threads=1)
    np.testing.assert_allclose(session.run(x), dense.run(x), rtol=1e-4, atol=1e-5)
    assert pruned.module is None or not any(
        isinstance(m, sparse.SparseLinear) for m in pruned.module.modules()
    )  # the model's own module stays dense


def test_the_sparse_runtime_is_for_the_cpu(pruned):
    with pytest.raises(RuntimeUnavailable, match="CPU"):
        th.open_session(pruned, "torch-sparse", device="cuda")
