"""``th.optimize.plan``: what a search would try within its time budget, and what each trial
should take, before anything is trained: plan, check, then run.

What the search tries depends on what it measures, so a plan lists what it knows and bounds
the rest: every recipe of each group's first rung (tried whatever the results); those crossed
with what earlier groups may keep, and at each later rung every recipe the survivors may make
(``search.combine`` of the whole rung before: the survivors are a subset), as "at most N of
these"; after each group, thinning harder as one line. A trial measured already (the same
model, data and settings, in ``$THRIFTY_CACHE/optimize``) shows its seconds and costs nothing.

Each trial's expected seconds come from the declarations and one timed validation pass
(``estimate.py``). Nothing is trained: a plan times that pass, and runs a technique's
``suggest`` only when that takes seconds (else the search picks the strengths when it runs,
and the plan prices a trial of each). The plan walks the groups as the search does: a change
to ``search.successive_halving``'s order of work is a change here too, which
``tests/optimize/test_plan.py`` checks by running the search on made-up results.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from thrifty.compress import FineTune, Recipe, Scans
from thrifty.compress.registry import TECHNIQUES, Technique, technique
from thrifty.errors import DataError
from thrifty.optimize import search
from thrifty.optimize.estimate import Cache, Calibration, Cost, thins
from thrifty.optimize.trial import Trial
from thrifty.verbs import make_callable

LIMIT = 5.0  # seconds a technique's ``suggest`` may take in a plan (more: the search runs it)
GROUPS = ("declared strengths", "strengths picked for this model", "gentler strengths")


@dataclass(frozen=True)
class Planned:
    """One line of a plan: a step before the search, a trial, or thinning harder."""

    kind: Literal["load", "baseline", "suggest", "trial", "harder"]
    recipe: str  # the recipe's text ("" the model as it is); a suggest line: the technique
    group: int = 0  # 1, 2, ... in the order searched (``GROUPS``); 0 before them
    rung: int = 0  # 1, 2, ... (``search.RUNGS``); 0 outside the rungs
    epochs: int = 0  # fine-tuning epochs the search gives it
    seconds: float = 0.0  # expected; 0 when measured already (``measured``)
    measured: float | None = None  # what measuring it took, as the cache holds it
    certain: bool = True  # tried whatever the results; else it may be
    counted: bool = True  # in ``by_then`` (not: once for each of an unknown number)
    by_then: float = 0.0  # seconds spent when it ends, if every line before it runs
    fits: Literal["yes", "maybe", "no"] = "yes"  # within the budget: if every line before it
    # runs; only if fewer do; not even if no uncertain line before it runs
    note: str = ""


@dataclass(frozen=True)
class Rung:
    """A rung of a group, as the plan lists it: ``recipes`` new trials, all tried (the first
    rung's own recipes) or at most that many of them."""

    group: int
    rung: int
    epochs: int
    recipes: int
    certain: bool


@dataclass(frozen=True)
class Plan:
    model: str
    data: str
    time_budget: float
    calibration: Calibration
    lines: tuple[Planned, ...]
    rungs: tuple[Rung, ...]
    groups: tuple[str, ...] = GROUPS

    @property
    def trials(self) -> list[Planned]:
        return [line for line in self.lines if line.kind in ("baseline", "trial")]

    @property
    def seconds(self) -> float:
        """Seconds the search would take if it tried every line (it tries fewer)."""
        return self.lines[-1].by_then if self.lines else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model, "data": self.data, "time_budget_s": self.time_budget,
            "seconds_at_most": self.seconds, "calibration": asdict(self.calibration),
            "groups": list(self.groups), "rungs": [asdict(r) for r in self.rungs],
            "lines": [asdict(line) for line in self.lines],
        }  # fmt: skip


def plan(
    model: Any,
    data: Any,
    max_drop: float = 0.5,
    *,
    metric: str | None = None,
    time_budget: float = 600.0,
    finetune: FineTune | None = None,
    pricing: Any = None,
    workload: Any = None,
) -> Plan:
    """What ``th.optimize`` with these arguments would try within ``time_budget`` seconds, and
    what each trial should take; nothing is trained, compressed or written.

    >>> found = th.optimize.plan("lenet.onnx", "fashion-mnist", time_budget=600)  # doctest: +SKIP
    >>> [line.recipe for line in found.trials if line.certain]  # doctest: +SKIP
    """
    if max_drop < 0 or time_budget <= 0:
        raise DataError("max_drop must be >= 0 and time_budget > 0")
    started = time.monotonic()
    model, data, pricing, workload = _prepared(model, data, metric, pricing, workload)
    lines = _Lines(time_budget)
    lines.add(Planned("load", "", seconds=time.monotonic() - started))
    cached = Cache(model, data, pricing, workload, finetune)
    measured = cached.seconds(Trial(Recipe(), 0))  # the search measures the model first
    planner = _Planner(lines, cached, Cost(model, data, finetune or FineTune(), measured))
    planner.trial(Trial(Recipe(), 0), 0, 0, certain=True, kind="baseline")
    strengths, unknown = _suggested(model, data, max_drop, time_budget, lines)
    # a stand-in strength for each hook that picks when the search runs finds its group
    standing = search.groups({name: (technique(step).strength.of(step),) for name, step in unknown})
    for number, recipes in enumerate(search.groups(strengths), 1):
        stand_ins = [(n, step) for n, step in unknown if Recipe((step,)) in standing[number - 1]]
        if recipes or stand_ins:
            planner.group(number, recipes, stand_ins)
    return Plan(
        model.name, data.name, time_budget, planner.cost.calibration, tuple(lines.lines),
        tuple(planner.rungs),
    )  # fmt: skip


class _Planner:
    """The search's groups and rungs, walked as ``search.successive_halving`` walks them, each
    trial listed once (later rungs reuse what was measured)."""

    def __init__(self, lines: _Lines, cached: Cache, cost: Cost):
        self.lines, self.cached, self.cost = lines, cached, cost
        self.done: set[Trial] = set()  # listed: measured by then, if every line before runs
        self.earlier: list[Recipe] = []  # what the groups before may keep: their last rungs'
        self.rungs: list[Rung] = []

    def group(self, number: int, recipes: list[Recipe], stand_ins: list) -> None:
        current = _crossed(recipes, self.earlier)
        for rung, epochs in enumerate(search.RUNGS, 1):
            if rung > 1:
                current = _combined(current, self.earlier)
            new = [r for r in current if Trial(r, _epochs(r, epochs)) not in self.done]
            for recipe in new:
                certain = rung == 1 and recipe in recipes
                self.trial(Trial(recipe, _epochs(recipe, epochs)), number, rung, certain)
            for name, step in stand_ins:
                trial = Trial(Recipe((step,)), _epochs(Recipe((step,)), epochs))
                self.lines.add(Planned(
                    "trial", f"{name}:?", number, rung, trial.epochs,
                    self.cost.seconds(trial, self.done), certain=False, counted=False,
                    note="alone; its combinations are not listed",
                ))  # fmt: skip
            every = rung == 1 and all(r in recipes for r in new) and not stand_ins
            self.rungs.append(Rung(number, rung, epochs, len(new), every))
        self.earlier += [r for r in current if r not in self.earlier]
        self.harder(number)

    def trial(self, trial: Trial, group: int, rung: int, certain: bool, kind="trial") -> None:
        measured = self.cached.seconds(trial)
        seconds = 0.0 if measured is not None else self.cost.seconds(trial, self.done)
        self.lines.add(Planned(
            kind, str(trial.recipe), group, rung, trial.epochs, seconds, measured, certain
        ))  # fmt: skip
        self.done.add(trial)

    def harder(self, group: int) -> None:
        """One line: its steps repeat while time is left (a step starts from the first steps
        measured, as any trial does)."""
        thinned = [t for t in self.done if any(map(thins, t.recipe))]
        if not thinned:
            return
        last = search.RUNGS[-1]
        step = max(self.cost.seconds(Trial(t.recipe, last), self.done) for t in thinned)
        self.lines.add(Planned(
            "harder", "", group, 0, last, step, certain=False, counted=False,
            note="while time is left: the best thinned candidate within the budget, thinned "
            "harder (half the weights it kept), again while it stays within; each step",
        ))  # fmt: skip


def _prepared(model, data, metric, pricing, workload):
    """The model, data, prices and workload as ``optimize`` makes them (a cached trial is
    found by them)."""
    from pathlib import Path

    from thrifty.datasets import load as load_data
    from thrifty.loading import load
    from thrifty.measure import Workload, load_pricing
    from thrifty.measure.quality import referenced

    data = load_data(data) if isinstance(data, str | Path) else data
    data = data.with_metric(metric)
    model = load(model, input_shape=data.input_shape)
    data = referenced(data, model)
    pricing = load_pricing(pricing) if not hasattr(pricing, "name") else pricing
    return model, data, pricing, workload or Workload()


def _suggested(model, data, max_drop, time_budget, lines):
    """Each ``suggest`` hook's strengths (run now if that takes seconds), and for the hooks
    that would take longer, a stand-in step (name, step) to price their trials with."""
    strengths, unknown = {}, []
    for name, declared in TECHNIQUES.items():
        if declared.suggest is None:
            continue
        began = time.monotonic()
        found = declared.suggest(model, data, max_drop, Scans(), time.monotonic() + 2 * LIMIT)
        seconds = found.would_take if found.would_take is not None else time.monotonic() - began
        left = time_budget - lines.most
        if seconds > left / 2:  # the search's own deadline: the hook declines there too
            note = "skipped by the search: it would take more than half the time left"
        elif found.strengths:
            strengths[name] = found.strengths
            note = f"strengths for this model: {', '.join(map(str, found.strengths))} (picked now)"
        elif found.would_take is not None:
            unknown.append((name, _stand_in(declared)))
            note = "strengths picked for this model when the search runs"
        else:
            note = "no strengths for this model"
        lines.add(Planned("suggest", name, seconds=seconds, note=note))
    return strengths, [u for u in unknown if u[1] is not None]


def _stand_in(declared: Technique):
    """A step of ``declared`` at a strength it allows: what its trials cost does not depend
    on the strength."""
    strength = declared.strength
    value = strength.high if strength.high is not None else (strength.choices or (None,))[0]
    try:
        return declared.config(**{strength.field: value})
    except (DataError, TypeError, ValueError):
        return None


def _crossed(recipes: list[Recipe], earlier: list[Recipe]) -> list[Recipe]:
    """A group's first rung: its recipes, then those ``search.cross`` may add for whichever of
    ``earlier`` the groups before keep."""
    found = dict.fromkeys(recipes)
    for kept in _kept(earlier):
        found.update(dict.fromkeys(search.cross(recipes, kept)))
    return list(found)


def _combined(recipes: list[Recipe], earlier: list[Recipe]) -> list[Recipe]:
    """Every recipe the next rung may try: ``search.combine`` of whichever of ``recipes``
    survive, with whichever of ``earlier`` were kept. What it makes of a subset is what it makes
    of the whole, but for the gentlest thinned recipe, which goes into a narrowed one: so each
    thinned recipe is tried as the only one too."""
    thinned = [r for r in recipes if len(r) == 1 and thins(r.steps[0])]
    parts = [recipes] + [[r for r in recipes if r not in thinned or r == t] for t in thinned]
    found: dict[Recipe, None] = {}
    for kept in _kept(earlier):
        for part in parts:
            found.update(dict.fromkeys(search.combine(part, kept)))
    return list(found)


def _kept(earlier: list[Recipe]) -> list[list[Recipe]]:
    """What the groups before may have kept, as far as ``search.cross`` can tell them apart: it
    looks for the first converted recipe that does not narrow, and the first that narrows."""
    plain = [r for r in earlier if _converts(r.steps[-1]) and not any(map(_narrows, r))]
    narrowed = [r for r in earlier if any(map(_narrows, r))]
    return [[*a, *b] for a in ([], *([p] for p in plain)) for b in ([], *([n] for n in narrowed))]


def _narrows(step) -> bool:
    """Removes weights so that fewer operations run (the structure stage, new arithmetic)."""
    declared = technique(step)
    return declared.stage == "structure" and declared.arithmetic(step)


def _converts(step) -> bool:
    """Changes the arithmetic after training, with nothing to fine-tune."""
    declared = technique(step)
    return not declared.fine_tunes and declared.arithmetic(step)


def _epochs(recipe: Recipe, epochs: int) -> int:
    """The rung's epochs for a recipe that fine-tunes; 0 (measured once) for one that does not."""
    return epochs if any(t.fine_tunes for t in recipe.techniques()) else 0


@dataclass
class _Lines:
    """The lines so far, each given its seconds ``by_then`` and whether it fits the budget."""

    budget: float
    lines: list[Planned] = field(default_factory=list)
    most: float = 0.0  # seconds spent, if every line so far runs
    least: float = 0.0  # if only the certain ones do

    def add(self, line: Planned) -> None:
        from dataclasses import replace

        if line.counted:
            self.most += line.seconds
        least = self.least + (line.seconds if line.counted else 0.0)
        if line.certain and line.counted:
            self.least = least
        fits = "yes" if self.most <= self.budget else "maybe" if least <= self.budget else "no"
        self.lines.append(replace(line, by_then=self.most, fits=fits))


make_callable(__name__, plan)  # th.optimize.plan(model, data, ...); see thrifty/verbs.py
