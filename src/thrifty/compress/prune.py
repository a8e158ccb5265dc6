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
from thrifty.compress.registry import handles, register
from thrifty.compress.weights import Weight, bake, weights
from thrifty.datasets import samples
from thrifty.errors import DataError

GRID = (0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99)


@register("prune", "torch")
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


@handles(Prune, "torch")
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


@dataclass(frozen=True)
class Scan:
    """Each layer pruned alone at each sparsity of ``GRID``, without fine-tuning: the validation
    score it lost (in the metric's units, signed so that a loss is positive)."""

    layers: tuple[str, ...]
    sizes: np.ndarray  # weights per layer
    drops: np.ndarray  # layers x GRID

    def chosen(self, tolerance: float) -> np.ndarray:
        """Each layer's highest sparsity whose drop stays within ``tolerance`` (0 if none)."""
        grid = np.array((0.0, *GRID))
        picks = []
        for drops in self.drops:
            fits = np.flatnonzero(drops <= tolerance)
            picks.append(grid[1 + fits[-1]] if len(fits) else 0.0)
        return np.array(picks)

    def overall(self, chosen: np.ndarray) -> float:
        """The share of all weights that ``chosen`` per-layer sparsities set to zero."""
        return float((chosen * self.sizes).sum() / self.sizes.sum())

    def reachable(self, tolerance: float) -> float:
        """The overall sparsity that pruning, each layer within ``tolerance``, reaches."""
        return self.overall(self.chosen(tolerance))


class Scans:
    """The sensitivity scans made so far, by weights and validation data, the last ``kept``:
    whoever prunes one model many times (the optimizer, for each strength it tries) holds one
    and passes it to each ``compress``, which scans the model only the first time."""

    def __init__(self, kept: int = 8):
        self.kept = kept
        self._scans: dict[str, Scan] = {}

    def of(self, module, data) -> Scan:
        """The scan of ``module`` on ``data``'s validation split: made now, or remembered."""
        key = _scan_key(module, data)
        if key not in self._scans:
            if len(self._scans) >= self.kept:
                del self._scans[next(iter(self._scans))]
            self._scans[key] = scan(module, data)
        return self._scans[key]


def scan(module, data) -> Scan:
    """Prune each layer of ``module`` alone at every sparsity of the grid and measure the loss
    on the validation split (Han et al. 2015, section 3.3)."""
    from thrifty.models.training import validation_score

    layers = weights(module)
    base = validation_score(module, data)
    return Scan(
        tuple(w.name for w in layers),
        np.array([w.tensor.numel() for w in layers], dtype=np.float64),
        np.array([_sensitivity(module, w, base, data) for w in layers]),
    )


def _scan_key(module, data) -> str:
    import hashlib

    digest = hashlib.sha256(data.metric.steering.spec.encode())
    for name, tensor in module.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    for rows in (data.val.x, data.val.y):
        samples.digest(digest, rows)
    return digest.hexdigest()


def _sensitivity(module, weight: Weight, base: float, data) -> np.ndarray:
    """Validation score lost (from ``base``) by pruning ``weight`` alone at each sparsity."""
    from thrifty.models.training import validation_score

    original = weight.tensor.detach().clone()
    order = _smallest_first(original)  # once for the whole grid: a large matrix sorts slowly
    drops = []
    with torch.no_grad():
        for sparsity in GRID:
            weight.tensor.mul_(_keep(original, sparsity, order))
            drops.append(base - validation_score(module, data))
            weight.tensor.copy_(original)
    return np.array(drops)


def _keep(values, sparsity: float, order=None):
    """A 0/1 mask keeping all but exactly round(sparsity x n) of the smallest magnitudes
    (``order``: ``_smallest_first(values)``, if already known)."""
    cut = int(round(sparsity * values.numel()))
    mask = torch.ones(values.numel(), dtype=values.dtype, device=values.device)
    if cut:
        order = _smallest_first(values) if order is None else order
        mask[order[:cut]] = 0
    return mask.reshape(values.shape)


def _smallest_first(values):
    return torch.argsort(values.abs().reshape(-1), stable=True)


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
        mask = _keep(weight.tensor.detach(), sparsity)  # the current value is already masked
    if previous is None:
        previous = Mask(mask)
        parametrize.register_parametrization(weight.owner, weight.attribute, previous)
    else:
        previous.mask.copy_(mask)
    return previous
