"""The registry: each technique declares what it is, and what the search needs to know of it.

A technique is a config type (``Prune``), the handler that applies it, and its declaration:
its stage, whether fine-tuning follows it, its strength (the field that sets how much it
compresses, with its range and direction), what it may follow, whether it changes the
arithmetic or only the bytes, and how much fine-tuning it really runs (``tuning``).
``compress``, the optimizer's search and its plan read these declarations and never a
technique's name, so a new technique is one file that calls ``register``.

Stages come in order: ``structure`` (which weights exist), ``values`` (what the kept weights
hold), ``precision`` (the number format), ``runtime`` (how the graph is run). A step may follow
any step of an earlier stage, and a step of its own stage only if it names it in ``follows``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

Stage = Literal["structure", "values", "precision", "runtime"]
STAGES: tuple[Stage, ...] = ("structure", "values", "precision", "runtime")


@dataclass(frozen=True)
class Strength:
    """The config field that sets how much a technique compresses: a number within
    [``low``, ``high``] (stronger as it rises, or falls with ``stronger="lower"``), or one of
    ``choices``. ``tries`` are what a search tries first, ``gentler`` what it tries last."""

    field: str
    low: float | None = None
    high: float | None = None
    stronger: Literal["higher", "lower"] = "higher"
    choices: tuple[str, ...] = ()
    tries: tuple = ()
    gentler: tuple = ()

    def of(self, step) -> Any:
        return getattr(step, self.field)

    def at(self, step, value):
        """``step`` with its strength set to ``value``."""
        return replace(step, **{self.field: value})

    def weakest(self, steps):
        return (min if self.stronger == "higher" else max)(steps, key=self.of)


@dataclass(frozen=True)
class Suggested:
    """The strengths worth trying for one model, and the per-layer table they came from (the
    report's ``sensitivity``)."""

    strengths: tuple = ()
    table: list[dict[str, Any]] = field(default_factory=list)
    would_take: float | None = None  # none picked for want of time: the seconds picking would
    # take (a plan says so, and when the search, with its own deadline, picks them)


@dataclass(frozen=True)
class Technique:
    name: str  # the recipe word: "prune" in "prune:0.9"
    config: type  # the frozen dataclass a recipe step is
    run: Callable[..., Any]  # (module or Model, config, Context) -> module or Model
    stage: Stage
    on: Literal["module", "graph"]  # a trainable torch module, or the exported ONNX graph
    fine_tunes: bool  # recovery fine-tuning follows it (so a search gives it epochs)
    strength: Strength
    follows: tuple[str, ...] = ()  # techniques of its own stage it may come after
    arithmetic: Callable[[Any], bool] = lambda step: False  # the step changes the arithmetic
    # (fewer or cheaper operations in any runtime), not only the bytes
    suggest: Callable[..., Suggested] | None = None  # (model, data, max_drop, scans, deadline):
    # strengths picked for this model (else the search tries ``strength.tries``)
    tuning: Callable[[Any, int], float] = lambda step, epochs: epochs  # the epochs of
    # fine-tuning a step given that many really runs (a gradual schedule runs more): what a
    # plan of the search expects it to take

    def may_follow(self, earlier: Technique) -> bool:
        own, before = STAGES.index(self.stage), STAGES.index(earlier.stage)
        return before < own or (before == own and earlier.name in self.follows)

    def text(self, step) -> str:
        return f"{self.name}:{self.strength.of(step)}"


TECHNIQUES: dict[str, Technique] = {}  # by recipe word, in registration order


def register(technique: Technique) -> Technique:
    """Make ``technique`` known to recipes, ``compress`` and the optimizer's search."""
    if technique.strength.field not in {f.name for f in fields(technique.config)}:
        raise TypeError(f"{technique.config.__name__} has no field {technique.strength.field!r}")
    TECHNIQUES[technique.name] = technique
    return technique


def technique(step) -> Technique:
    """The technique a recipe step belongs to."""
    from thrifty.errors import DataError

    for known in TECHNIQUES.values():
        if type(step) is known.config:
            return known
    raise DataError(f"{step!r} is not a compression technique; see thrifty.compress")


@dataclass
class Context:
    """What every handler may use: the data, the original model, recovery settings, and the
    sensitivity scans already made."""

    data: Any  # thrifty.datasets.Dataset
    teacher: Any  # the original module, frozen: the target of distillation
    finetune: Any  # thrifty.compress.FineTune
    say: Callable[[str], None]  # progress messages
    scans: Any  # thrifty.compress.sensitivity.Scans: the caller's, so a model is scanned once
    deadline: float | None = None  # time.monotonic() instant where fine-tuning stops (the best
    # weights so far kept): the optimizer's time budget
    progress: bool = False  # show each fine-tuning run's epochs (thrifty.progress)
