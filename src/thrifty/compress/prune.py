"""``Prune``: magnitude pruning to sparse weights, gradually, with fine-tuning between steps.

Zhu & Gupta 2017 ("To prune, or not to prune"): the sparsity rises as s_t = s (1 - (1 - t/n)^3)
over n steps, fine-tuning after each, so the network adapts while little is cut and the cuts
slow down as it tightens (an eighth of the fine-tuning epochs after each step but the last,
which gets them all; none between steps under 8 epochs, as in the optimizer's short rung).
Per-layer sparsities come from a sensitivity scan unless given: each layer is pruned alone at
a grid of sparsities and its validation score measured; the layers then take the highest
sparsity whose drop stays under one shared tolerance, the smallest that reaches the overall
target (Han et al. 2015, section 3.3), scaled to hit it exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from thrifty.compress.finetune import recover
from thrifty.compress.registry import Strength, Technique, register
from thrifty.compress.sensitivity import GRID, suggest_strengths
from thrifty.compress.weights import Weight, bake, magnitude_mask, weights
from thrifty.errors import DataError


@dataclass(frozen=True)
class Prune:
    sparsity: float  # the share of all weights (matrices and kernels) set to zero
    schedule: Literal["gradual", "oneshot"] = "gradual"
    steps: int = 4  # pruning steps of the gradual schedule, each followed by fine-tuning
    layers: tuple[tuple[str, float], ...] | None = (
        None  # per-layer sparsities; None: by sensitivity
    )

    def __post_init__(self) -> None:
        if not 0 <= self.sparsity < 1:
            raise DataError(f"prune sparsity must be in [0, 1), got {self.sparsity}")
        if self.schedule not in ("gradual", "oneshot") or self.steps < 1:
            raise DataError("prune schedule must be 'gradual' or 'oneshot', with steps >= 1")
        for name, value in self.layers or ():
            if not 0 <= value < 1:
                raise DataError(f"prune sparsity of layer {name!r} must be in [0, 1), got {value}")


def prune(module, config: Prune, context):
    targets = layer_sparsities(module, config, context)
    steps = config.steps if config.schedule == "gradual" else 1
    masks = {}
    for step in range(1, steps + 1):
        fraction = 1 - (1 - step / steps) ** 3
        for weight in weights(module):
            target = targets.get(weight.name, 0.0) * fraction
            masks[weight.name] = _mask(weight, target, masks.get(weight.name))
        context.say(f"prune step {step}/{steps}: {fraction * config.sparsity:.1%} of weights")
        last = step == steps
        recover(module, context, epochs=None if last else context.finetune.epochs // 8)
    bake(module)
    return module


def tuned_epochs(config: Prune, epochs: int) -> int:
    """The epochs of fine-tuning ``prune`` runs when given ``epochs`` (at most: early stopping
    may end each run sooner): an eighth after each step but the last, which gets them all."""
    steps = config.steps if config.schedule == "gradual" else 1
    return (steps - 1) * (epochs // 8) + epochs


def layer_sparsities(module, config: Prune, context) -> dict[str, float]:
    """Per-layer sparsities: as given, or from the sensitivity scan, adding up to the target."""
    names = {w.name for w in weights(module)}
    if config.layers is not None:
        unknown = sorted(set(dict(config.layers)) - names)
        if unknown:
            raise DataError(f"prune names layers {unknown}; the model's are {sorted(names)}")
        return dict(config.layers)
    if config.sparsity == 0:
        return {}
    found = context.scans.of(module, context.data)
    for tolerance in np.unique(np.concatenate([[0.0], found.drops.ravel()])):
        chosen = found.chosen(tolerance)
        overall = found.overall(chosen)
        if overall >= config.sparsity:
            chosen *= config.sparsity / overall
            return {name: float(s) for name, s in zip(found.layers, chosen, strict=True)}
    raise DataError(
        f"prune sparsity {config.sparsity} is above what the scan reaches ({GRID[-1]} per layer)"
    )


class Mask(torch.nn.Module):
    """A parametrization: the weight as trained, times a fixed 0/1 mask, so zeros stay zero
    through fine-tuning (their gradients are masked too)."""

    def __init__(self, mask):
        super().__init__()
        self.register_buffer("mask", mask)

    def forward(self, value):
        return value * self.mask


def _mask(weight: Weight, sparsity: float, previous: Mask | None) -> Mask:
    """Apply (or tighten) the mask of ``weight`` to exactly ``sparsity``."""
    from torch.nn.utils import parametrize

    with torch.no_grad():
        mask = magnitude_mask(weight.tensor.detach(), sparsity)  # the value is masked already
    if previous is None:
        previous = Mask(mask)
        parametrize.register_parametrization(weight.owner, weight.attribute, previous)
    else:
        previous.mask.copy_(mask)
    return previous


register(
    Technique(
        "prune", Prune, prune, stage="structure", on="module", fine_tunes=True,
        strength=Strength("sparsity", low=0.0, high=0.99),  # ``high``: the most a search tries
        follows=("channels",), suggest=suggest_strengths, tuning=tuned_epochs,
    )  # the same arithmetic (zeros are multiplied too, densely): only the bytes shrink
)  # fmt: skip
