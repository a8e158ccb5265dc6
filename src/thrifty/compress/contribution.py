"""Ranking a transformer's heads and neurons by what they add to its output, on real texts.

A channel that feeds a Linear layer adds ``W[:, c] x_c`` to that layer's output; over the data
its size is at most ``||W[:, c]|| * rms(x_c)``, the column's norm times the channel's root mean
square input (structured Wanda: Sun et al. 2023 score ``|W_ij| ||X_j||``). For an attention head
the channels are the head's dimensions entering the output projection, for a feed-forward neuron
its activation entering the down projection. The weights' norms alone (Torch-Pruning's group
magnitude) ignore that some heads attend to little and some neurons rarely fire.

Measured on all-MiniLM-L6-v2, 600 WordNet glosses, channels:0.5: spearman against the original
0.664 straight after pruning (magnitude: 0.549), 0.787 after two epochs of distillation
(magnitude: 0.700). It costs a forward pass over ``TEXTS`` texts (about 4 s for MiniLM on two
busy cores); padding tokens are masked out of the statistics. A first-order (Taylor) score is
no alternative without labels: the student starts as the teacher, where distillation's loss
and its gradient are zero.
"""

from __future__ import annotations

import torch
from torch import nn

from thrifty.datasets.samples import feed, take
from thrifty.models.feeding import forward, to_tensors

TEXTS = 64  # texts the inputs' statistics are taken over: a few batches' worth
BATCH = 32


class Contribution:
    """Torch-Pruning's importance: each channel's ``||W[:, c]|| * rms(x_c)`` in the Linear
    layers of its group that take it as input."""

    def __init__(self, rms: dict[nn.Linear, torch.Tensor]):
        self.rms = rms

    @torch.no_grad()
    def __call__(self, group) -> torch.Tensor | None:
        from torch_pruning.pruner import function

        score, found = torch.zeros(len(group[0].idxs)), False
        for item in group.items:
            layer, idxs = item.dep.layer, item.idxs
            if layer in self.rms and item.dep.pruning_fn == function.prune_linear_in_channels:
                column = layer.weight[:, idxs].norm(dim=0) * self.rms[layer][idxs]
                score.scatter_add_(0, torch.tensor(item.root_idxs), column)
                found = True
        return score if found else None  # Torch-Pruning leaves a group without a score whole


def contribution(module: nn.Module, samples) -> Contribution:
    """The root mean square input of every Linear layer of ``module`` over the real tokens of
    the first ``TEXTS`` of ``samples`` (padding, masked out, does not count)."""
    sums: dict[nn.Linear, torch.Tensor] = {}
    counts: dict[nn.Linear, torch.Tensor] = {}
    running: dict[str, torch.Tensor] = {}

    def record(layer, inputs, output):
        x = inputs[0].detach()
        real = running["attention_mask"]
        weight = real.unsqueeze(-1).to(x.dtype) if x.dim() == 3 else torch.ones(len(x), 1)
        sums[layer] = sums.get(layer, 0) + (x**2 * weight).reshape(-1, x.shape[-1]).sum(0)
        counts[layer] = counts.get(layer, 0) + weight.sum()

    hooks = [m.register_forward_hook(record) for m in module.modules() if isinstance(m, nn.Linear)]
    try:
        with torch.no_grad():
            for start in range(0, min(TEXTS, len(samples)), BATCH):
                running.update(to_tensors(feed(take(samples, slice(start, start + BATCH)))))
                forward(module.eval(), running)
    finally:
        for hook in hooks:
            hook.remove()
    return Contribution({layer: (sums[layer] / counts[layer]).sqrt() for layer in sums})
