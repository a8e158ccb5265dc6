"""Candidates made up for tests of the search: measured without measuring anything."""

from __future__ import annotations

from pathlib import Path

from thrifty.compress import Recipe
from thrifty.optimize.trial import Measured, Trial
from thrifty.report.candidate import Bill, Deployment


def measured(
    recipe: str | Recipe,
    quality: float,
    money: float,
    size: int,
    epochs: int = 1,
    seconds: float = 0.0,
) -> Measured:
    """A candidate of ``quality`` on both splits, at ``money`` dollars per million."""
    recipe = recipe if isinstance(recipe, Recipe) else Recipe.parse(recipe)
    runs = Deployment(
        "onnxruntime", 1, "cpu", 512, 1e4, 0.1, quality, Bill(money, 0, 0, money, ""), ()
    )
    return Measured(str(recipe), epochs, quality, "accuracy", size, seconds, Path("m.thrifty"),
                    False, runs, (runs,), (), (), trial=Trial(recipe, epochs))  # fmt: skip


def one_by_one(run):
    """A rung run as a serial search runs it: each trial admitted just before it starts."""

    def batch(trials, admit, done):
        for each in trials:
            if admit(each):
                done(each, run(each))

    return batch
