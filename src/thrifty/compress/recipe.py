"""A recipe: the techniques' configs in the order they apply, ``(Prune(0.92), Share(5))``.

Text is for the command line and files only: ``Recipe.parse("prune:0.92,share:5")`` reads each
``name:strength`` item (the strength is the field the technique declares: ``prune:0.92``,
``share:5``, ``channels:0.5``, ``quantize:int8-static``) and ``str(recipe)`` gives it back.
Every recipe is checked against the declarations: each step may follow those before it
(``registry.Technique.may_follow``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from thrifty.compress.registry import STAGES, TECHNIQUES, Technique, technique
from thrifty.errors import DataError


@dataclass(frozen=True)
class Recipe:
    steps: tuple = ()

    def __post_init__(self) -> None:
        for at, step in enumerate(self.steps):
            for earlier in self.steps[:at]:
                if not technique(step).may_follow(technique(earlier)):
                    raise DataError(
                        f"recipe {self}: {technique(step).name} cannot follow "
                        f"{technique(earlier).name}; steps go by stage ({', '.join(STAGES)}): "
                        f"{_by_stage()}"
                    )

    @classmethod
    def parse(cls, text: str) -> Recipe:
        """The recipe ``text`` names; "" is the model as it is."""
        if not text.strip():
            return cls()
        return cls(tuple(_step(item.strip()) for item in text.split(",")))

    def __str__(self) -> str:
        return ",".join(technique(step).text(step) for step in self.steps)

    def __iter__(self):
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def __add__(self, other: Recipe) -> Recipe:
        return Recipe(self.steps + other.steps)

    def techniques(self) -> list[Technique]:
        return [technique(step) for step in self.steps]

    def with_step(self, step) -> Recipe:
        """The recipe with ``step`` after every step it may follow and before the rest."""
        new = technique(step)
        at = next(
            (i for i, s in enumerate(self.steps) if not new.may_follow(technique(s))),
            len(self.steps),
        )
        return Recipe((*self.steps[:at], step, *self.steps[at:]))


def _step(item: str):
    name, _, value = item.partition(":")
    if name not in TECHNIQUES or not value:
        raise DataError(
            f"recipe item {item!r} is not name:value with a name in {sorted(TECHNIQUES)}; "
            'example: --recipe "prune:0.92,share:5"'
        )
    declared = TECHNIQUES[name]
    kind = {f.name: f.type for f in fields(declared.config)}[declared.strength.field]
    try:
        return declared.config(**{declared.strength.field: _convert(value, kind)})
    except ValueError as error:
        raise DataError(f"recipe item {item!r}: {error}") from error


def _convert(value: str, kind) -> object:
    kind = kind if isinstance(kind, str) else kind.__name__
    if kind == "float":
        return float(value)
    if kind == "int":
        return int(value)
    return value


def _by_stage() -> str:
    return "; ".join(
        f"{stage}: {', '.join(t.name for t in TECHNIQUES.values() if t.stage == stage)}"
        for stage in STAGES
        if any(t.stage == stage for t in TECHNIQUES.values())
    )
