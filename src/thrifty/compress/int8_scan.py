"""Mixed precision: which layers int8 hurts most, so that ``quantize:int8-dynamic-keep2`` keeps
those two in float32 and runs the rest in int8.

A transformer loses most of its int8 error in a few layers (all-MiniLM-L6-v2, machine C: of 36
weighted MatMuls quantized dynamically one at a time, the first layer's feed-forward output lost
0.22 points of spearman, twice the next; all 36 together lost 1.08, none 0). The scan quantizes
each weighted node alone and scores the graph on the validation split: what it lost, in the
metric's units. ``suggest_kept`` picks, for the optimizer, how many to keep: the fewest whose
float leaves the summed losses of the rest within the budget, and within half of it.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import numpy as np

from thrifty.compress.int8 import to_int8, weighted
from thrifty.compress.registry import Suggested
from thrifty.compress.runs import outputs
from thrifty.datasets import samples

KEPT_AT_MOST = 1 / 3  # of the weighted nodes: past that, int8 pays for little of the graph
BUDGET_SHARES = (1.0, 0.5)  # of the quality budget, that the nodes left in int8 may lose


@dataclass(frozen=True)
class Int8Scan:
    """Each weighted node quantized alone (dynamic int8): the validation score it lost."""

    nodes: tuple[str, ...]
    drops: np.ndarray

    def worst(self, count: int) -> tuple[str, ...]:
        """The ``count`` nodes that lost most (ties: in graph order)."""
        order = np.argsort(-self.drops, kind="stable")
        return tuple(self.nodes[i] for i in order[:count])

    def kept_for(self, allowed: float) -> int | None:
        """The fewest nodes to keep in float so that the rest lose at most ``allowed`` in sum
        (None: more than ``KEPT_AT_MOST`` would be needed)."""
        left = np.sort(np.maximum(self.drops, 0))[::-1]
        for count in range(int(len(left) * KEPT_AT_MOST) + 1):
            if left[count:].sum() <= allowed:
                return count
        return None


def scan_of(model, data, context) -> Int8Scan:
    """The scan of ``model``'s graph on ``data``'s validation split: made now, or found in
    ``context.scans`` (the optimizer's, made once for the model it was given)."""
    return context.scans.remember(_key(model, data), lambda: scan(model, data, context))


def scan(model, data, context, deadline: float | None = None) -> Int8Scan | float:
    """Quantize each weighted node alone and score it (or, when the first node shows the whole
    scan would end past ``deadline``, a ``time.monotonic()`` instant: the seconds it would
    take)."""
    from thrifty.models.model import Model

    nodes = weighted(model.proto)
    base = validation_score(model, data)
    drops = []
    began = time.monotonic()
    for at, node in enumerate(nodes):
        one = Model(
            proto=to_int8(model, True, context, only=[node]), name=model.name, source=model.source
        )
        drops.append(base - validation_score(one, data))
        would_take = (time.monotonic() - began) * len(nodes)
        if at == 0 and deadline is not None and began + would_take > deadline:
            return would_take
    return Int8Scan(tuple(nodes), np.array(drops, dtype=np.float64))


def suggest_kept(model, data, max_drop: float, scans, deadline: float | None = None) -> Suggested:
    """``int8-dynamic-keepK`` for the counts ``K`` that ``BUDGET_SHARES`` of the budget need
    (none where int8 alone fits, or the graph has no named weighted nodes), and the scan's
    table for the report. The scan is kept in ``scans``, where quantizing finds it."""
    from thrifty.compress.registry import Context

    if not weighted(model.proto):
        return Suggested()
    context = Context(data=data, teacher=None, finetune=None, say=lambda _: None, scans=scans)
    key = _key(model, data)
    half_left = None if deadline is None else time.monotonic() + (deadline - time.monotonic()) / 2
    found = scans.remember(key, lambda: scan(model, data, context, half_left))
    if not isinstance(found, Int8Scan):
        scans.forget(key)
        return Suggested(would_take=found)
    unit = max_drop / 100 if data.metric.is_share else max_drop
    counts = {found.kept_for(unit * share) for share in BUDGET_SHARES} - {None, 0}
    scale = 100 if data.metric.is_share else 1
    sizes = _weights(model.proto)
    table = [{"layer": node, "params": sizes[node], "drops": {"int8": float(drop) * scale}}
             for node, drop in zip(found.nodes, found.drops, strict=True)]  # fmt: skip
    return Suggested(tuple(f"int8-dynamic-keep{k}" for k in sorted(counts)), table)


def validation_score(model, data) -> float:
    """The data set's metric (its steering form) on the validation split, in ONNX Runtime,
    signed so that higher is better."""
    from thrifty.datasets.metrics import score

    out = outputs(model, data.val.x)
    metric = data.metric.steering
    return metric.better(score(metric, out, data.val.y, data.classes or data.num_classes))


def _weights(proto) -> dict[str, int]:
    """Each node's count of stored weights."""
    sizes = {t.name: int(np.prod(t.dims)) for t in proto.graph.initializer}
    return {node.name: sum(sizes.get(i, 0) for i in node.input) for node in proto.graph.node}


def _key(model, data) -> str:
    digest = hashlib.sha256(b"int8 " + data.metric.steering.spec.encode())
    digest.update(model.to_bytes())
    for rows in (data.val.x, data.val.y):
        samples.digest(digest, rows)
    return digest.hexdigest()
