"""The search: successive halving over recipes, spending the time budget where it pays.

Recipes come in groups, the quick ones first: quantization and structured pruning (seconds to
tens of seconds each), then unstructured pruning at the strengths the sensitivity stage
(``sensitivity.py``) picked for this model (gradual, so minutes on a large model). Within a
group, rung 1 tries every recipe alone with short fine-tuning; the best half that stays within
the quality budget (on the validation split) goes on: its recipes are combined with each other
(pruning then sharing, channels then quantization) and fine-tuned longer. Post-training
quantization alone has nothing to fine-tune, so it is measured once. The cheapest candidate
within the budget wins; every candidate is measured as deployed (``trial.measure``) and
cached, so a re-run of the same search is fast.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from thrifty.compress import parse_recipe
from thrifty.compress.registry import REGISTRY
from thrifty.optimize.trial import TOLERANCE, Measured, Trial

# The quick group, quickest first; pruning's strengths come from the sensitivity stage.
SINGLES = (
    "quantize:int8-static",
    "quantize:int8-dynamic",
    "quantize:fp16",
    "channels:0.5",
    "channels:0.25",
)
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
    groups: list[list[str]],
    max_drop: float,
    objective: str,
    deadline: float,
) -> list[Measured]:
    """Every candidate measured, in the order tried, within the time left before ``deadline``;
    each group of recipes is halved through the rungs before the next starts."""
    measured: dict[Trial, Measured] = {}
    for recipes in groups:
        for epochs in RUNGS:
            results = []
            for recipe in recipes:
                if time.monotonic() > deadline:
                    return list(measured.values())
                trial = Trial(recipe, epochs if _trains(recipe) else 0)
                if trial not in measured:
                    measured[trial] = run(trial)
                results.append(measured[trial])
            within = [r for r in results if r.drop(baseline) <= max_drop + TOLERANCE]
            within.sort(key=lambda r: r.objective(objective))
            survivors = [r.trial.recipe for r in within[: max(2, len(within) // 2)]]
            recipes = combine(survivors)  # the next rung's, fine-tuned longer
    return list(measured.values())


def _trains(recipe: str) -> bool:
    """Whether the recipe has a step that fine-tuning follows (not quantization alone)."""
    return any(REGISTRY[type(step)].stage == "torch" for step in parse_recipe(recipe))
