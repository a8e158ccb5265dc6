"""The sparse execution path: pruned fully connected layers run as sparse matrix products.

Pruning zeroes most weights, but a dense kernel multiplies the zeros all the same. Here each
``nn.Linear`` whose weights are mostly zeros is timed both ways, dense and as a compressed-row
(CSR) sparse matrix (``torch.sparse.mm``, MKL's sparse kernels in PyTorch's CPU build), on a
batch of its own input size, and keeps whichever is faster: sparsity buys speed only where it
is measured to. Convolutions stay dense.
"""

from __future__ import annotations

import time
import warnings

import torch

MOSTLY_ZEROS = 0.5  # below this share of zeros a sparse product is never faster; not timed
PROBE_ROWS = 256  # the batch both kernels are timed on
PROBE_CALLS = 20


def sparsify(module) -> list[str]:
    """Replace, in place, each linear layer of ``module`` that runs faster sparse than dense, on
    the process's thread count (a session sets its own first); returns the layers replaced."""
    replaced = []
    for name, layer in list(module.named_modules()):
        if not isinstance(layer, torch.nn.Linear):
            continue
        zeros = float((layer.weight == 0).float().mean())
        if zeros < MOSTLY_ZEROS:
            continue
        sparse = SparseLinear(layer)
        probe = torch.randn(PROBE_ROWS, layer.in_features)
        if _seconds(sparse, probe) < _seconds(layer, probe):
            _replace(module, name, sparse)
            replaced.append(name)
    return replaced


class SparseLinear(torch.nn.Module):
    """``x @ W.T + b`` with ``W`` held as a CSR matrix: the product is ``(W @ x.T).T``, over
    the last axis of ``x`` (a transformer's rows are tokens of texts: batch x length x width)."""

    def __init__(self, dense: torch.nn.Linear) -> None:
        super().__init__()
        self.in_features, self.out_features = dense.in_features, dense.out_features
        with warnings.catch_warnings():  # "Sparse CSR tensor support is in beta state"
            warnings.simplefilter("ignore", UserWarning)
            self.weight = dense.weight.detach().to_sparse_csr()
        self.bias = None if dense.bias is None else dense.bias.detach().clone()

    def forward(self, x):
        rows = x.reshape(-1, self.in_features)
        out = torch.sparse.mm(self.weight, rows.T.contiguous()).T
        out = out.reshape(*x.shape[:-1], self.out_features)
        return out if self.bias is None else out + self.bias


def _seconds(layer, probe) -> float:
    """The fastest of ``PROBE_CALLS`` calls, after one to warm up."""
    best = float("inf")
    with torch.inference_mode():
        layer(probe)
        for _ in range(PROBE_CALLS):
            start = time.perf_counter()
            layer(probe)
            best = min(best, time.perf_counter() - start)
    return best


def _replace(module, name: str, layer) -> None:
    parent, _, child = name.rpartition(".")
    setattr(module.get_submodule(parent) if parent else module, child, layer)
