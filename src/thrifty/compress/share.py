"""``Share``: k-means weight sharing per layer, with the shared values fine-tuned.

Deep Compression (Han et al. 2016, section 3): the non-zero weights of a layer are clustered
into at most 2^bits values (linear initialisation over [min, max], which keeps the rare large
weights that matter most, or k-means++); every weight becomes its cluster's value. During
fine-tuning the gradient of each shared value is the sum of its weights' gradients. Zeros stay
zero, so sharing after pruning keeps the sparsity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from thrifty.compress.finetune import recover
from thrifty.compress.registry import Strength, Technique, register
from thrifty.compress.weights import bake, weights
from thrifty.errors import DataError


@dataclass(frozen=True)
class Share:
    bits: int  # at most 2^bits distinct non-zero values per layer
    init: Literal["linear", "kmeans++"] = "linear"

    def __post_init__(self) -> None:
        if not 1 <= self.bits <= 8:
            raise DataError(f"share bits must be 1 to 8 (2 to 256 values), got {self.bits}")
        if self.init not in ("linear", "kmeans++"):
            raise DataError(f"share init must be 'linear' or 'kmeans++', got {self.init!r}")


class Shared(torch.nn.Module):
    """A parametrization: each non-zero weight is its cluster's value, and the values train.

    Every weight indexes a table of the values and one zero (for the pruned), so the forward
    pass is one gather; the values' gradient is a weighted count (``Lookup``)."""

    def __init__(self, clusters, index, mask):
        super().__init__()
        self.values = torch.nn.Parameter(clusters)
        table_index = torch.full(mask.shape, len(clusters), dtype=torch.int64)
        table_index[mask] = index
        self.register_buffer("table_index", table_index)

    def forward(self, value):
        table = torch.cat([self.values, self.values.new_zeros(1)])
        return Lookup.apply(table, self.table_index)


class Lookup(torch.autograd.Function):
    """``table[index]``, whose backward sums each entry's gradients with one ``bincount``:
    autograd's scatter-add into a few dozen entries from a million weights was 8x slower
    than the layer's own matmul (they all contend for the same entries)."""

    @staticmethod
    def forward(ctx, table, index):
        ctx.save_for_backward(index)
        ctx.entries = table.numel()
        return table[index]

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        flat = grad.reshape(-1).to(torch.float64)
        summed = torch.bincount(index.reshape(-1), weights=flat, minlength=ctx.entries)
        return summed.to(grad.dtype), None


def share(module, config: Share, context):
    from torch.nn.utils import parametrize

    for weight in weights(module):
        value = weight.tensor.detach()
        mask = value != 0
        if not mask.any():
            continue
        clusters, index = cluster(
            value[mask].cpu().numpy(), 2**config.bits, config.init, seed=context.finetune.seed
        )
        shared = Shared(torch.from_numpy(clusters), torch.from_numpy(index), mask)
        parametrize.register_parametrization(weight.owner, weight.attribute, shared)
    context.say(f"share: at most {2**config.bits} values per layer; fine-tuning them")
    recover(module, context)
    bake(module)
    return module


def cluster(values: np.ndarray, k: int, init: str, *, seed: int):
    """1-D k-means of ``values`` into at most ``k`` clusters: (centres, index of each value)."""
    from sklearn.cluster import KMeans

    distinct = np.unique(values)
    if len(distinct) <= k:  # already few values: each is its own cluster, exactly
        return distinct.astype(np.float32), np.searchsorted(distinct, values).astype(np.int64)
    start = (
        np.linspace(values.min(), values.max(), k).reshape(-1, 1)
        if init == "linear"
        else ("k-means++")
    )
    kmeans = KMeans(k, init=start, n_init=1, random_state=seed).fit(values.reshape(-1, 1))
    return kmeans.cluster_centers_[:, 0].astype(np.float32), kmeans.labels_.astype(np.int64)


register(
    Technique(
        "share", Share, share, stage="values", on="module", fine_tunes=True,
        strength=Strength("bits", low=1, high=8, stronger="lower", tries=(4, 5)),
    )  # 16 or 32 values a layer: the same arithmetic, 4-5 bits a weight in the file
)  # fmt: skip
