"""The search: successive halving over recipes, spending the time budget where it pays.

Recipes come in groups, the quick ones first: quantization and structured pruning (seconds to
tens of seconds each), then unstructured pruning at the strengths the sensitivity stage
(``sensitivity.py``) picked for this model (gradual, so minutes on a large model). Within a
group, rung 1 tries every recipe alone with short fine-tuning; the cheaper half of those that
may still come within the quality budget (on the validation split), and the cheapest of each
technique, go on: their recipes are combined with each other (pruning then sharing, channels
then quantization) and fine-tuned longer. Post-training
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
RUNGS = (2, 10)  # fine-tuning epochs at each rung
RECOVERY = 8  # a candidate this many budgets off after the short rung may still recover


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
            recipes = combine(promoted(results, baseline, max_drop, objective))
    return list(measured.values())


def promoted(
    results: list[Measured], baseline: Measured, max_drop: float, objective: str
) -> list[str]:
    """The recipes that go on to the next rung: among those within ``RECOVERY`` times the
    budget (longer fine-tuning wins back more), the cheaper half, and the cheapest of each
    technique, so that techniques that pay only together (channels, then int8) get combined."""
    slack = RECOVERY * max_drop + TOLERANCE
    hopeful = sorted(
        (r for r in results if r.drop(baseline) <= slack), key=lambda r: r.objective(objective)
    )
    chosen = [r.trial.recipe for r in hopeful[: max(2, len(hopeful) // 2)]]
    cheapest = {}  # technique -> its cheapest recipe
    for r in hopeful:
        cheapest.setdefault(r.trial.recipe.partition(":")[0], r.trial.recipe)
    return list(dict.fromkeys([*chosen, *cheapest.values()]))


def _trains(recipe: str) -> bool:
    """Whether the recipe has a step that fine-tuning follows (not quantization alone)."""
    return any(REGISTRY[type(step)].stage == "torch" for step in parse_recipe(recipe))
