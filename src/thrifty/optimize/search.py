"""The search: successive halving over recipes, spending the time budget where it pays.

Recipes come in groups, the quick ones first: quantization and structured pruning (seconds to
tens of seconds each), then unstructured pruning at the strengths the sensitivity stage
(``sensitivity.py``) picked for this model (gradual, so minutes on a large model). Within a
group, rung 1 tries every recipe alone with short fine-tuning; the cheaper half of those that
may still come within the quality budget (on the validation split), and the cheapest of each
technique, go on: their recipes are combined with each other (pruning then sharing, channels
then quantization) and fine-tuned longer. Pruning is also crossed with what the quick group
kept within the budget (``cross``), at every rung, and weight sharing goes into every
recipe that prunes (``shared``: as cheap to run, a quarter of the bytes or less); after each
group, the best pruned candidate is pruned harder while it stays within (``harder``).
Post-training quantization alone has nothing to fine-tune, so it is measured once. The
cheapest candidate within the budget wins (of those as cheap as timing tells, the smallest:
``result.EVEN``); every candidate is measured as deployed (``trial.measure``) and cached, so a
re-run of the same search is fast.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from thrifty.compress import parse_recipe
from thrifty.compress.registry import REGISTRY
from thrifty.optimize.result import Optimized
from thrifty.optimize.trial import TOLERANCE, Measured, Trial

# The quick group, quickest first; pruning's strengths come from the sensitivity stage; last,
# if time is left, the gentler structured pruning (it pays less, and costs as much to tune).
SINGLES = ("quantize:int8-static", "quantize:int8-dynamic", "quantize:fp16", "channels:0.5")
GENTLER = ("channels:0.25",)
RUNGS = (2, 10, 20)  # fine-tuning epochs at each rung
RECOVERY = 8  # a candidate this many budgets off after the short rung may still recover
HARDEST = 0.99  # pruning strength ``harder`` stops at
FINEST = 0.2  # the least share of the weights left that a step of ``harder`` removes
SHARE_BITS = (4, 5)  # weight sharing's values per layer: 16 or 32


def combine(recipes: list[str], earlier: list[str] = ()) -> list[str]:
    """Recipes made of the survivors: each survivor alone; structured pruning then
    quantization; pruning crossed with ``earlier`` (``cross``); last, as they pay in bytes
    alone, weight sharing in each trained recipe (``shared``)."""
    alone = [r for r in recipes if "," not in r]  # combinations are not combined again
    shrunk = [r for r in alone if r.startswith("channels:")]
    quantized = [r for r in alone if r.startswith("quantize:int8")]
    combined = cross([*recipes, *(f"{c},{q}" for c in shrunk for q in quantized)], earlier)
    return list(dict.fromkeys([*combined, *shared(combined)]))


def shared(recipes: list[str]) -> list[str]:
    """Weight sharing after each recipe that ends in pruning (fp32, sparse) or structured
    pruning, and before the int8 quantization of one: the arithmetic stays as it was (as
    cheap), and the values a layer keeps take 4 or 5 bits instead of 32 (or an int8 table of
    16-32 entries). Each shared fp32 recipe comes before its quantized ones, which start from
    it (``trial._compressed``); the crossed first (on the cheapest found)."""
    heads: dict[str, list[str]] = {}  # trained fp32 recipe -> the int8 steps that followed it
    for recipe in sorted(recipes, key=lambda r: -r.count(",")):
        head, _, last = recipe.rpartition(",")
        if _trained(recipe):
            heads.setdefault(recipe, [])
        elif _int8(last) and _trained(head):
            heads.setdefault(head, []).append(last)
    return [
        f"{head},share:{bits}{suffix}"
        for head, quantized in heads.items()
        for bits in SHARE_BITS
        for suffix in ("", *(f",{q}" for q in quantized))
    ]


def _trained(recipe: str) -> bool:
    """Whether ``recipe`` ends in a pruning step, which weight sharing can follow."""
    return recipe.split(",")[-1].startswith(("prune:", "channels:"))


def cross(recipes: list[str], earlier: list[str]) -> list[str]:
    """Pruning crossed with what the groups before kept within the budget (``earlier``,
    cheapest first), where it costs nothing to run: the arithmetic stays as it was, and the
    file becomes sparse and entropy-coded. Each strength is followed by itself before the
    cheapest int8 recipe without structured pruning (it starts from the pruned model just
    measured, ``trial._compressed``, so it costs seconds); the gentlest also goes into the
    cheapest recipe with structured pruning (a narrower model has less to prune), first: it
    is the cheapest to run and to fine-tune, where pruning the whole model takes minutes."""
    plain = next((r for r in earlier if _int8(r) and "channels:" not in r), None)
    narrowed = next((r for r in earlier if "channels:" in r), None)
    pruned = [r for r in recipes if r.startswith("prune:") and "," not in r]
    gentlest = min(pruned, key=_strength, default=None)
    crossed = [_with_pruning(gentlest, narrowed)] if narrowed and gentlest else []
    for recipe in recipes:
        crossed.append(recipe)
        if plain and recipe in pruned:
            crossed.append(_with_pruning(recipe, plain))
    return list(dict.fromkeys(crossed))


def _int8(recipe: str) -> bool:
    return ",quantize:int8" in f",{recipe}"


def _with_pruning(step: str, recipe: str) -> str:
    """``recipe`` with the pruning ``step`` before its weight sharing and quantization, or last
    if it has neither (pruning after sharing would fine-tune the shared values apart)."""
    steps = recipe.split(",")
    at = next((i for i, s in enumerate(steps) if s.startswith(("share:", "quantize:"))), len(steps))
    return ",".join([*steps[:at], step, *steps[at:]])


def _strength(recipe: str) -> float:
    return float(recipe.partition(":")[2])


def successive_halving(
    run: Callable[[Trial], Measured | None],
    baseline: Measured,
    groups: list[list[str]],
    max_drop: float,
    objective: str,
    deadline: float,
) -> list[Measured]:
    """Every candidate measured, in the order tried, within the time left before ``deadline``
    (a trial that would overrun it by what it took at the rung before is skipped); each group
    of recipes is halved through the rungs before the next starts. ``run`` gives None for a
    recipe that does not apply to the model: it is dropped, and nothing is combined with it."""
    measured: dict[Trial, Measured] = {}
    inapplicable: set[str] = set()
    earlier: list[str] = []  # the groups before: their last rung's, within budget, cheapest first
    for recipes in groups:
        recipes = cross(recipes, earlier)
        for epochs in RUNGS:
            results = []
            for recipe in recipes:
                if time.monotonic() > deadline:
                    return list(measured.values())
                trial = Trial(recipe, epochs if _trains(recipe) else 0)
                if recipe in inapplicable:
                    continue
                if trial not in measured:
                    if time.monotonic() + _expected(trial, measured) > deadline:
                        continue  # would overrun the budget: a quicker one may still fit
                    result = run(trial)
                    if result is None:
                        inapplicable.add(recipe)
                        continue
                    measured[trial] = result
                results.append(measured[trial])
            recipes = combine(promoted(results, baseline, max_drop, objective), earlier)
        within = [r for r in results if r.drop(baseline) <= max_drop + TOLERANCE]
        earlier += [r.trial.recipe for r in sorted(within, key=lambda r: r.objective(objective))]
        harder(run, baseline, measured, max_drop, objective, deadline)
    return list(measured.values())


def harder(run, baseline: Measured, measured: dict[Trial, Measured], max_drop, objective, deadline):
    """With time left after a group: the best pruned candidate within the budget, pruned
    harder (half the weights it kept, at the last rung's fine-tuning), again from the result
    while it stays within, and halfway there when it does not; the sensitivity scan's
    strengths are what layers lose before any fine-tuning, and fine-tuning wins much back."""
    while time.monotonic() < deadline:
        pruned = [m for m in measured.values() if "prune:" in m.trial.recipe]
        start = Optimized(baseline, pruned, max_drop, objective).best
        if start is baseline:
            return
        trial = _pruned_harder(start.trial, measured)
        if trial is None or time.monotonic() + _expected(trial, measured) > deadline:
            return
        measured[trial] = run(trial)


def _pruned_harder(start: Trial, measured: dict[Trial, Measured]) -> Trial | None:
    """``start`` at the last rung with its pruning strength raised to keep half the weights it
    kept or, where that was measured already (and did not win), halfway to it; None once a
    step would remove less than ``FINEST`` of the weights left: what that changes is within
    the validation split's noise, and trying many near the budget's edge picks a lucky draw
    (LeNet-300-100: 0.78 was 0.06 points off on validation, 0.66 on test)."""
    steps = start.recipe.split(",")
    at = next(i for i, step in enumerate(steps) if step.startswith("prune:"))
    strength = _strength(steps[at])
    target = min(round(1 - (1 - strength) / 2, 2), HARDEST)
    while 1 - target <= (1 - strength) * (1 - FINEST):
        steps[at] = f"prune:{target:g}"
        trial = Trial(",".join(steps), RUNGS[-1])
        if trial not in measured:
            return trial
        halfway = round((strength + target) / 2, 2)
        target = halfway if halfway < target else strength
    return None


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


def _expected(trial: Trial, measured: dict[Trial, Measured]) -> float:
    """Seconds ``trial`` should take, from the trials before it, scaled by the epochs: the
    most that one of the same recipe or of its first step alone took (fine-tuning is most of
    the time) or, if none ran, one whose first step is the same technique; 0 when it starts
    from a measured model by quantizing it (``trial._compressed``), or nothing like it ran."""
    head, _, last = trial.recipe.rpartition(",")
    if head and last.startswith("quantize:") and Trial(head, trial.epochs) in measured:
        return 0.0
    first = trial.recipe.split(",")[0]
    tuned = [done for done in measured.values() if done.trial.epochs]
    like = [d for d in tuned if d.trial.recipe in (trial.recipe, first)] or [
        d for d in tuned if d.trial.recipe.partition(":")[0] == first.partition(":")[0]
    ]
    return max((d.seconds * trial.epochs / d.trial.epochs for d in like), default=0.0)


def _trains(recipe: str) -> bool:
    """Whether the recipe has a step that fine-tuning follows (not quantization alone)."""
    return any(REGISTRY[type(step)].stage == "torch" for step in parse_recipe(recipe))
