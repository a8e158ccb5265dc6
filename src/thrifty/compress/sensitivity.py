"""The sensitivity scan: how much each layer loses when pruned alone, before any fine-tuning;
from it, the per-layer sparsities of ``Prune`` and the strengths worth fine-tuning for one
model (``suggest_strengths``: what ``Prune`` declares as its ``suggest``).

A fixed grid (80%, 90%, 95%) wastes the budget on a model that breaks at 70% or one that keeps
its quality at 98%. The scan costs a few validation passes per layer; the strengths are the
overall sparsities reachable with every layer within 1x, 4x and 16x the quality budget (recovery
fine-tuning wins back much of what one-shot pruning loses). Layers that each survive the grid's
top alone need not survive it together: when the strengths collapse into fewer, gentler ones
(twice the weights kept, then four times) fill in.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from thrifty.compress.registry import Suggested
from thrifty.compress.weights import Weight, magnitude_mask, smallest_first, weights
from thrifty.datasets import samples
from thrifty.errors import ModelError

GRID = (0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99)  # the sparsities each layer is scanned at

TOLERANCES = (1, 4, 16)  # multiples of the quality budget
LOWEST, HIGHEST = 0.5, 0.98  # the strengths tried stay within these


def suggest_strengths(
    model, data, max_drop: float, scans: Scans, deadline: float | None = None
) -> Suggested:
    """Overall sparsities to try, and the scan's table they came from, its layers named as the
    graph's (none: the model has no layers PyTorch can prune, e.g. an int8 graph, or the scan
    would take more than half the time left before ``deadline``, a ``time.monotonic()``
    instant: then ``would_take`` says what it would take). The scan is kept in ``scans``, where
    pruning the model at each strength finds it."""
    from thrifty.models.onnx_torch import to_torch

    try:
        module = copy.deepcopy(model.module) if model.module is not None else to_torch(model)
    except ModelError:
        return Suggested()
    if deadline is not None:
        seconds = scan_seconds(module, data)
        if seconds > (deadline - time.monotonic()) / 2:
            return Suggested(would_take=seconds)
    found = _named_as_the_graph(scans.of(module.eval(), data), model, module)
    table = sensitivity_table(found, data.metric)
    if not found.layers:
        return Suggested((), table)
    metric = data.metric
    unit = max_drop / 100 if metric.is_share else max_drop
    if metric.is_share:  # a budget of 0 still admits losing no validation row
        unit = max(unit, 0.5 / len(data.val))
    strengths = {max(round(min(found.reachable(unit * k), HIGHEST), 2), LOWEST)
                 for k in TOLERANCES}  # fmt: skip
    while len(strengths) < len(TOLERANCES):  # collapsed: every layer took the grid's top alone
        gentler = round(1 - 2 * (1 - min(strengths)), 2)  # twice the weights kept
        if gentler < LOWEST:
            break
        strengths.add(gentler)
    return Suggested(tuple(sorted(strengths)), table)


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
        self._scans: dict[str, Any] = {}

    def of(self, module, data) -> Scan:
        """The scan of ``module`` on ``data``'s validation split: made now, or remembered."""
        return self.remember(_scan_key(module, data), lambda: scan(module, data))

    def remember(self, key: str, make):
        """What ``make()`` gives, made the first time ``key`` is asked for (other scans, such
        as int8's of a graph, keep theirs here too)."""
        if key not in self._scans:
            if len(self._scans) >= self.kept:
                del self._scans[next(iter(self._scans))]
            self._scans[key] = make()
        return self._scans[key]

    def forget(self, key: str) -> None:
        self._scans.pop(key, None)


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
    order = smallest_first(original)  # once for the whole grid: a large matrix sorts slowly
    drops = []
    with torch.no_grad():
        for sparsity in GRID:
            weight.tensor.mul_(magnitude_mask(original, sparsity, order))
            drops.append(base - validation_score(module, data))
            weight.tensor.copy_(original)
    return np.array(drops)


def scan_seconds(module, data) -> float:
    """What the scan would take: a validation pass for each layer at each sparsity, timed."""
    from thrifty.compress.weights import weights
    from thrifty.models.training import validation_score

    started = time.perf_counter()
    validation_score(module.eval(), data)
    return (time.perf_counter() - started) * (len(weights(module)) * len(GRID) + 1)


def _named_as_the_graph(found: Scan, model, module) -> Scan:
    """The scan with each weight named after the graph's layer that holds it (``/fc1/Gemm``),
    as the report's per-layer table names layers, not after the torch parameter it was
    (``fc1.weight``; ``layers.n1.weight`` for a module made from the graph). A parameter is
    the initializer of its name unless the module says otherwise; one the graph does not
    hold keeps its name."""
    from thrifty.measure.counts import weight_layers

    initializers = module.onnx_names() if hasattr(module, "onnx_names") else {}
    layers = weight_layers(model.proto)
    names = tuple(layers.get(initializers.get(p, p), p) for p in found.layers)
    return replace(found, layers=names)


def sensitivity_table(found: Scan, metric) -> list[dict[str, Any]]:
    """The scan for the report: per layer, its weights and the loss at each sparsity (points
    for shares, units for errors)."""
    scale = 100 if metric.is_share else 1
    return [
        {"layer": name, "params": int(size),
         "drops": {f"{s:g}": float(d) * scale for s, d in zip(GRID, drops, strict=True)}}
        for name, size, drops in zip(found.layers, found.sizes, found.drops, strict=True)
    ]  # fmt: skip
