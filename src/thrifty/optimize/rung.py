"""Running a rung's trials: made where the workers are, then measured here one at a time.

A trial whose recipe starts with another trial of the same batch (a fine-tuned step, and the
same step followed by one with nothing to fine-tune, say) starts from that one's measured model
(``trial.start_of``), so the batch goes in waves: the trials none of whose prefixes is in the
batch, then those that follow them. Each wave's trials are admitted (``admit``: they are
expected to end within the budget) and made side by side; when all are made, each is measured
in turn while no worker runs, so every timing is taken on an idle machine, as a serial search
takes it. With workers that are not parallel (this process), each trial is its own wave,
admitted just before it starts.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from thrifty.compress import Recipe
from thrifty.optimize.trial import Trial


def rung_runner(workers, measure: Callable, start: Callable, cached: Callable, until: float):
    """``run(trials, admit, done)`` for the search: ``measure(trial, made)`` gives the measured
    candidate (or None: the recipe does not apply), ``start(trial)`` where its making starts,
    ``cached(trial)`` whether it was measured before; fine-tuning stops at ``until``."""

    def run(trials: list[Trial], admit: Callable[[Trial], bool], done: Callable) -> None:
        batches = _waves(trials) if workers.parallel else [[t] for t in trials]
        for wave in batches:
            admitted = [t for t in wave if admit(t)]
            fresh = [t for t in admitted if not cached(t)]
            tasks = [(start(t), t.epochs, until - time.monotonic()) for t in fresh]
            made = dict(zip(fresh, workers.make_all(tasks), strict=True)) if tasks else {}
            for trial in admitted:
                done(trial, measure(trial, made.get(trial)))

    return run


def _waves(trials: list[Trial]) -> list[list[Trial]]:
    """``trials`` in waves, in their order within each: a trial goes one wave after the
    latest of its prefixes (at the same epochs) in the batch."""
    wave: dict[Trial, int] = {}
    for trial in sorted(trials, key=lambda t: len(t.recipe)):
        steps = trial.recipe.steps
        prefixes = [Trial(Recipe(steps[:cut]), trial.epochs) for cut in range(1, len(steps))]
        wave[trial] = 1 + max((wave[p] for p in prefixes if p in wave), default=-1)
    count = 1 + max(wave.values(), default=-1)
    return [[t for t in trials if wave[t] == n] for n in range(count)]
