"""Recipes as text, for the command line: ``"prune:0.92,share:5"`` <-> ``[Prune(0.92), Share(5)]``.

Each item is ``name:value`` where the value is the technique's first field (``prune:0.92``,
``share:5``, ``channels:0.5``, ``quantize:int8-static``).
"""

from __future__ import annotations

from dataclasses import fields

from thrifty.compress.registry import NAMES
from thrifty.errors import DataError


def parse_recipe(text: str) -> list:
    steps = []
    for item in (part.strip() for part in text.split(",")):
        name, _, value = item.partition(":")
        if name not in NAMES or not value:
            raise DataError(
                f"recipe item {item!r} is not name:value with a name in {sorted(NAMES)}; "
                'example: --recipe "prune:0.92,share:5"'
            )
        config = NAMES[name]
        first = fields(config)[0]
        try:
            steps.append(config(_convert(value, first.type)))
        except ValueError as error:
            raise DataError(f"recipe item {item!r}: {error}") from error
    return steps


def recipe_text(recipe: list) -> str:
    names = {config: name for name, config in NAMES.items()}
    return ",".join(f"{names[type(step)]}:{getattr(step, fields(step)[0].name)}" for step in recipe)


def _convert(value: str, kind) -> object:
    kind = kind if isinstance(kind, str) else kind.__name__
    if kind == "float":
        return float(value)
    if kind == "int":
        return int(value)
    return value
