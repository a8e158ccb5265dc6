"""The search: successive halving over recipes, spending the time budget where it pays.

Rung 1 tries every technique alone at a few strengths, with short fine-tuning. The best half
that stays within the quality budget (on the validation split) goes on: its recipes are
combined with each other (pruning then sharing, channels then quantization) and everything is
fine-tuned longer. The cheapest candidate within the budget wins; every candidate is measured
as deployed (``trial.measure``) and cached, so a re-run of the same search is fast.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from thrifty.optimize.trial import TOLERANCE, Measured, Trial

SINGLES = (
    "prune:0.8", "prune:0.9", "prune:0.95",
    "channels:0.25", "channels:0.5",
    "quantize:int8-dynamic", "quantize:int8-static", "quantize:fp16",
)  # fmt: skip
RUNGS = (2, 6)  # fine-tuning epochs at each rung


def combine(recipes: list[str]) -> list[str]:
    """Recipes made of the survivors: pruning then weight sharing; structured pruning then
    quantization; each survivor alone too."""
    pruned = [r for r in recipes if r.startswith("prune:")]
    shrunk = [r for r in recipes if r.startswith("channels:")]
    quantized = [r for r in recipes if r.startswith("quantize:int8")]
    combined = list(recipes)
    combined += [f"{p},share:{bits}" for p in pruned for bits in (5, 4)]
    combined += [f"{c},{q}" for c in shrunk for q in quantized]
    return list(dict.fromkeys(combined))


def successive_halving(
    run: Callable[[Trial], Measured],
    baseline: Measured,
    max_drop: float,
    objective: str,
    deadline: float,
) -> list[Measured]:
    """Every candidate measured, in the order tried, within the time left before ``deadline``."""
    measured: list[Measured] = []
    recipes = list(SINGLES)
    for epochs in RUNGS:
        results = []
        for recipe in recipes:
            if time.monotonic() > deadline:
                return measured
            result = run(Trial(recipe, epochs))
            measured.append(result)
            results.append(result)
        within = [r for r in results if r.drop(baseline) <= max_drop + TOLERANCE]
        within.sort(key=lambda r: r.objective(objective))
        survivors = [r.trial.recipe for r in within[: max(2, len(within) // 2)]]
        recipes = combine(survivors)  # the next rung's, fine-tuned longer
    return measured
