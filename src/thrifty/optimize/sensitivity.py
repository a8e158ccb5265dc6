"""The search's first stage: how much each layer loses when pruned alone, before any
fine-tuning, and from that the pruning strengths worth fine-tuning for this model.

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
from dataclasses import replace
from typing import Any

from thrifty.compress.prune import GRID, Scan, Scans
from thrifty.errors import ModelError

TOLERANCES = (1, 4, 16)  # multiples of the quality budget
LOWEST, HIGHEST = 0.5, 0.98  # the strengths tried stay within these


def prune_strengths(
    model, data, max_drop: float, scans: Scans, deadline: float | None = None
) -> tuple[list[float], Scan | None]:
    """Overall sparsities to try, and the scan they came from, its layers named as the graph's
    (None: the model has no layers PyTorch can prune, e.g. an int8 graph, or the scan would
    take more than half the time left before ``deadline``, a ``time.monotonic()`` instant).
    The scan is kept in ``scans``, where pruning the model at each strength finds it."""
    from thrifty.models.onnx_torch import to_torch

    try:
        module = copy.deepcopy(model.module) if model.module is not None else to_torch(model)
    except ModelError:
        return [], None
    if deadline is not None and _scan_seconds(module, data) > (deadline - time.monotonic()) / 2:
        return [], None
    found = _named_as_the_graph(scans.of(module.eval(), data), model, module)
    if not found.layers:
        return [], found
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
    return sorted(strengths), found


def _scan_seconds(module, data) -> float:
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


def sensitivity_table(found: Scan | None, metric) -> list[dict[str, Any]]:
    """The scan for the report: per layer, its weights and the loss at each sparsity (points
    for shares, units for errors)."""
    if found is None:
        return []
    scale = 100 if metric.is_share else 1
    return [
        {"layer": name, "params": int(size),
         "drops": {f"{s:g}": float(d) * scale for s, d in zip(GRID, drops, strict=True)}}
        for name, size, drops in zip(found.layers, found.sizes, found.drops, strict=True)
    ]  # fmt: skip
