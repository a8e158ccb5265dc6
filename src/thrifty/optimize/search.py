"""The search: successive halving over recipes, spending the time budget where it pays.

It knows the techniques only by what each declares in the registry (``compress/registry.py``):
its stage, whether it fine-tunes, its strength, what it may follow, whether it changes the
arithmetic. Recipes come in groups (``groups``), the quick ones first: every technique of the
structure and precision stages at the strengths it declares (``tries``), those without
fine-tuning first; then those whose strengths are picked for this model (``suggest``, from a
sensitivity scan: gradual, so minutes on a large model); last, if time is left, the gentler
strengths. Within a group, rung 1 tries every recipe alone with short fine-tuning; the cheaper
half of those that may still come within the quality budget (on the validation split), and the
cheapest of each technique, go on: their recipes are combined (``combine``) and fine-tuned
longer. A step that costs nothing to run (it thins the weights, but the arithmetic stays) is
crossed with what the groups before kept within the budget (``cross``), at every rung; a step
of the values stage goes into every recipe that ends in the structure stage (``valued``); after
each group, the best thinned candidate is thinned harder while it stays within (``harder``).
A recipe with nothing to fine-tune is measured once. The cheapest candidate within the budget
wins (of those as cheap as timing tells, the smallest: ``result.EVEN``); every candidate is
measured as deployed (``trial.measure``) and cached, so a re-run of the same search is fast.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from thrifty.compress import Recipe
from thrifty.compress.registry import TECHNIQUES, Technique, technique
from thrifty.optimize.result import Optimized
from thrifty.optimize.trial import TOLERANCE, Measured, Trial

RUNGS = (2, 10, 20)  # fine-tuning epochs at each rung
RECOVERY = 8  # a candidate this many budgets off after the short rung may still recover
FINEST = 0.2  # the least fraction of the weights left that a step of ``harder`` removes


def groups(suggested: dict[str, tuple]) -> list[list[Recipe]]:
    """The groups of single-step recipes, in the order they are searched: the declared
    strengths of the structure and precision stages (quickest first: nothing to fine-tune),
    then the strengths ``suggested`` for this model (technique name -> strengths), then the
    gentler declared ones. The values stage is not tried alone: ``valued`` adds it."""
    alone = [t for t in TECHNIQUES.values() if t.stage != "values"]
    quick = sorted(alone, key=lambda t: t.fine_tunes)  # a technique with ``suggest`` may declare
    # strengths to try first too (all of a graph, then strengths its scan picks for it)
    picked = [t for t in alone if t.suggest is not None]
    return [
        [_single(t, s) for t in quick for s in t.strength.tries],
        [_single(t, s) for t in picked for s in suggested.get(t.name, ())],
        [_single(t, s) for t in alone for s in t.strength.gentler],
    ]


def _single(declared: Technique, strength) -> Recipe:
    return Recipe((declared.config(**{declared.strength.field: strength}),))


def combine(recipes: list[Recipe], earlier: list[Recipe] = ()) -> list[Recipe]:
    """Recipes made of the survivors: each survivor alone; a fine-tuned step that changes the
    arithmetic (narrower layers) then a post-training one that does too (integer kernels), as
    they pay only together; thinned recipes crossed with ``earlier`` (``cross``); last, as they
    pay in bytes alone, a values step in each trained recipe (``valued``)."""
    alone = [r for r in recipes if len(r) == 1]  # combinations are not combined again
    shrunk = [r for r in alone if _narrows(r.steps[0])]
    converted = [r for r in alone if _converts(r.steps[0])]
    pairs = [c + q for c in shrunk for q in converted if _fits(c, q)]
    combined = cross([*recipes, *pairs], earlier)
    return list(dict.fromkeys([*combined, *valued(combined)]))


def valued(recipes: list[Recipe]) -> list[Recipe]:
    """A values step (at each strength it declares) after each recipe that ends in a trained
    structure step, and before the post-training conversion of one: the arithmetic stays as it
    was (as cheap), and the values a layer keeps take a few bits instead of 32 (or an integer
    table of as many entries). Each fp32 recipe comes before its converted ones, which start
    from it (``trial.start_of``); the crossed first (on the cheapest found)."""
    heads: dict[Recipe, list[Recipe]] = {}  # trained recipe -> the conversions that followed it
    for recipe in sorted(recipes, key=lambda r: -len(r)):
        head, last = Recipe(recipe.steps[:-1]), Recipe(recipe.steps[-1:])
        if _ends_trained(recipe):
            heads.setdefault(recipe, [])
        elif _converts(last.steps[0]) and _ends_trained(head):
            heads.setdefault(head, []).append(last)
    values = [_single(t, s) for t in TECHNIQUES.values() if t.stage == "values"
              for s in t.strength.tries]  # fmt: skip
    return [
        head + value + suffix
        for head, converted in heads.items()
        for value in values
        if _fits(head, value)
        for suffix in (Recipe(), *converted)
    ]


def cross(recipes: list[Recipe], earlier: list[Recipe]) -> list[Recipe]:
    """Thinning crossed with what the groups before kept within the budget (``earlier``,
    cheapest first), where it costs nothing to run: the arithmetic stays as it was, and the
    file becomes sparse and entropy-coded. Each strength is followed by itself in the cheapest
    converted recipe that does not narrow (it starts from the thinned model just measured,
    ``trial.start_of``, so it costs seconds); the gentlest also goes into the cheapest
    recipe that narrows (a narrower model has less to thin), first: it is the cheapest to run
    and to fine-tune, where thinning the whole model takes minutes."""
    plain = next((r for r in earlier if _converted(r) and not any(map(_narrows, r))), None)
    narrowed = next((r for r in earlier if any(map(_narrows, r))), None)
    thinned = [r for r in recipes if len(r) == 1 and _thins(r.steps[0])]
    gentlest = _gentlest(thinned)
    crossed = [_into(narrowed, gentlest)] if narrowed and gentlest else []
    for recipe in recipes:
        crossed.append(recipe)
        if plain and recipe in thinned:
            crossed.append(_into(plain, recipe))
    return list(dict.fromkeys(r for r in crossed if r is not None))


def _into(recipe: Recipe, single: Recipe) -> Recipe | None:
    """``recipe`` with the step of ``single`` where it may go (None if it may not: the recipe
    has a step of its technique already)."""
    from thrifty.errors import DataError

    try:
        return recipe.with_step(single.steps[0])
    except DataError:
        return None


def _narrows(step) -> bool:
    """Removes weights, so fewer operations run (whole neurons and filters)."""
    declared = technique(step)
    return declared.stage == "structure" and declared.arithmetic(step)


def _thins(step) -> bool:
    """Zeroes weights and trains on, so only the bytes shrink (the arithmetic stays dense)."""
    declared = technique(step)
    return declared.stage == "structure" and declared.fine_tunes and not declared.arithmetic(step)


def _converts(step) -> bool:
    """Changes the arithmetic after training, with nothing to fine-tune (integer kernels)."""
    declared = technique(step)
    return not declared.fine_tunes and declared.arithmetic(step)


def _converted(recipe: Recipe) -> bool:
    return bool(recipe) and _converts(recipe.steps[-1])


def _ends_trained(recipe: Recipe) -> bool:
    """Whether ``recipe`` ends in a trained structure step, which a values step can follow."""
    if not recipe:
        return False
    last = technique(recipe.steps[-1])
    return last.stage == "structure" and last.fine_tunes


def _fits(head: Recipe, tail: Recipe) -> bool:
    """Whether every step of ``tail`` may follow every step of ``head``."""
    return all(t.may_follow(h) for t in tail.techniques() for h in head.techniques())


def _gentlest(recipes: list[Recipe]) -> Recipe | None:
    if not recipes:
        return None
    strength = technique(recipes[0].steps[0]).strength
    return min(recipes, key=lambda r: strength.of(r.steps[0]) * _sign(strength))


def _sign(strength) -> int:
    return 1 if strength.stronger == "higher" else -1


Done = Callable[[Trial, Measured | None], None]
Run = Callable[[list[Trial], Callable[[Trial], bool], Done], None]


def successive_halving(
    run: Run,
    baseline: Measured,
    groups: list[list[Recipe]],
    max_drop: float,
    objective: str,
    deadline: float,
) -> list[Measured]:
    """Every candidate measured, in the order tried, within the time left before ``deadline``
    (a trial that would overrun it by what it took at the rung before is skipped); each group
    of recipes is halved through the rungs before the next starts. ``run(trials, admit,
    done)`` runs a rung's trials (``rung.rung_runner``), each only if ``admit`` lets it start,
    and gives each to ``done``: None for a recipe that does not apply to the model, which is
    dropped, and nothing is combined with it."""
    measured: dict[Trial, Measured] = {}
    inapplicable: set[Recipe] = set()
    earlier: list[Recipe] = []  # the groups before: their last rung's, within budget, cheapest

    def admit(trial: Trial) -> bool:  # a trial that would overrun the budget is skipped: a
        return time.monotonic() + _expected(trial, measured) <= deadline  # quicker one may fit

    def done(trial: Trial, result: Measured | None) -> None:
        if result is None:
            inapplicable.add(trial.recipe)
        else:
            measured[trial] = result

    for recipes in groups:
        recipes = cross(recipes, earlier)
        for epochs in RUNGS:
            if time.monotonic() > deadline:
                return list(measured.values())
            trials = [Trial(r, epochs if _trains(r) else 0) for r in recipes]
            trials = list(dict.fromkeys(t for t in trials if t.recipe not in inapplicable))
            run([t for t in trials if t not in measured], admit, done)
            results = [measured[t] for t in trials if t in measured]
            recipes = combine(promoted(results, baseline, max_drop, objective), earlier)
        within = [r for r in results if r.drop(baseline) <= max_drop + TOLERANCE]
        earlier += [r.trial.recipe for r in sorted(within, key=lambda r: r.objective(objective))]
        harder(run, baseline, measured, max_drop, objective, deadline, done)
    return list(measured.values())


def harder(
    run: Run, baseline, measured: dict[Trial, Measured], max_drop, objective, deadline, done: Done
):
    """With time left after a group: the best thinned candidate within the budget, thinned
    harder (half the weights it kept, at the last rung's fine-tuning), again from the result
    while it stays within, and halfway there when it does not; the sensitivity scan's
    strengths are what layers lose before any fine-tuning, and fine-tuning wins much back."""
    while time.monotonic() < deadline:
        thinned = [m for m in measured.values() if any(map(_thins, m.trial.recipe))]
        start = Optimized(baseline, thinned, max_drop, objective).best
        if start is baseline:
            return
        trial = _thinned_harder(start.trial, measured)
        if trial is None or time.monotonic() + _expected(trial, measured) > deadline:
            return
        run([trial], lambda t: True, done)
        if trial not in measured:
            return  # it does not apply: nothing harder will


def _thinned_harder(start: Trial, measured: dict[Trial, Measured]) -> Trial | None:
    """``start`` at the last rung with its thinning strength (the fraction of weights removed)
    raised to keep half the weights it kept or, where that was measured already (and did not
    win), halfway to it; None once a step would remove less than ``FINEST`` of the weights
    left: what that changes is within the validation split's noise, and trying many near the
    budget's edge picks a lucky draw (LeNet-300-100: 0.78 was 0.06 points off on validation,
    0.66 on test). The strength stops at the technique's declared ``high``."""
    steps = list(start.recipe.steps)
    at = next(i for i, step in enumerate(steps) if _thins(step))
    strength = technique(steps[at]).strength
    value = strength.of(steps[at])
    target = min(round(1 - (1 - value) / 2, 2), strength.high)
    while 1 - target <= (1 - value) * (1 - FINEST):
        steps[at] = strength.at(steps[at], target)
        trial = Trial(Recipe(tuple(steps)), RUNGS[-1])
        if trial not in measured:
            return trial
        halfway = round((value + target) / 2, 2)
        target = halfway if halfway < target else value
    return None


def promoted(
    results: list[Measured], baseline: Measured, max_drop: float, objective: str
) -> list[Recipe]:
    """The recipes that go on to the next rung: among those within ``RECOVERY`` times the
    budget (longer fine-tuning wins back more), the cheaper half, and the cheapest of each
    technique, so that techniques that pay only together (narrower, then integer) get combined."""
    slack = RECOVERY * max_drop + TOLERANCE
    hopeful = sorted(
        (r for r in results if r.drop(baseline) <= slack), key=lambda r: r.objective(objective)
    )
    chosen = [r.trial.recipe for r in hopeful[: max(2, len(hopeful) // 2)]]
    cheapest = {}  # technique -> its cheapest recipe
    for r in hopeful:
        cheapest.setdefault(technique(r.trial.recipe.steps[0]).name, r.trial.recipe)
    return list(dict.fromkeys([*chosen, *cheapest.values()]))


def _expected(trial: Trial, measured: dict[Trial, Measured]) -> float:
    """Seconds ``trial`` should take, from the trials before it, scaled by the epochs: the
    most that one of the same recipe or of its first step alone took (fine-tuning is most of
    the time) or, if none ran, one whose first step is the same technique; 0 when it starts
    from a measured model by a last step with nothing to fine-tune (``trial.start_of``),
    or nothing like it ran."""
    recipe = trial.recipe
    head, last = Recipe(recipe.steps[:-1]), recipe.steps[-1]
    if head and not technique(last).fine_tunes and Trial(head, trial.epochs) in measured:
        return 0.0
    first = Recipe(recipe.steps[:1])
    tuned = [done for done in measured.values() if done.trial.epochs]
    like = [d for d in tuned if d.trial.recipe in (recipe, first)] or [
        d for d in tuned if type(d.trial.recipe.steps[0]) is type(first.steps[0])
    ]
    return max((d.seconds * trial.epochs / d.trial.epochs for d in like), default=0.0)


def _trains(recipe: Recipe) -> bool:
    """Whether the recipe has a step that fine-tuning follows."""
    return any(t.fine_tunes for t in recipe.techniques())
