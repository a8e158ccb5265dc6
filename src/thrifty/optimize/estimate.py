"""What a trial of the search should take, in seconds, before it runs: from the techniques'
declarations, one timed validation pass (``v`` seconds over the ``V`` validation rows; ``T``
training, ``S`` test rows), and the cache's measurements where it holds them.

- an epoch of fine-tuning: ``v (K T / V + 1)`` (a validation pass ends each epoch), K = 7:
  a training row costs 3 forward passes in FLOPs (Kaplan et al. 2020, "Scaling Laws for Neural
  Language Models", section 2.1: 6N FLOPs per token to train, 2N to run), and on a CPU runs at
  about 2.4 times less a row than a validation pass does (batches of 128 against 1,024, and
  the optimizer's step; measured on 2 cores: LeNet-300-100 on Fashion-MNIST, 1.49 s an epoch
  of 55,000 rows against 0.018 s a validation pass of 5,000). Early stopping may end it
  sooner, so it is at most that. Each step that fine-tunes runs its declared ``tuning``
  of the trial's epochs, after the longest first steps listed before it (the search starts
  from their measured model, ``trial.start_of``).
- measuring a candidate as deployed (``trial._measured``, ``deploy.measure_options``): a
  profile on the validation split and one on the test split per option (runtime x threads),
  each a pass over its split plus timing probes of 3.5 budgets (latency 1; throughput 10 probes
  of a quarter, ``measure/timing.py``): ``v (1 + n S / V) + 3.5 (0.05 + n 0.15)`` for n
  options; scaled by what the baseline's measurement really took when it is in the cache.
  Compressing itself (export, calibration) is not counted.

On a GPU fine-tuning runs faster than this CPU pass says. On the digits MLP, where measuring
takes most of a trial's seconds, the estimates came within a third of what the search's trials
took.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass

from thrifty.compress import FineTune, Recipe
from thrifty.compress.registry import technique
from thrifty.errors import ModelError
from thrifty.optimize.deploy import ANY_GRAPH, TIMING_BUDGET_S, options
from thrifty.optimize.trial import Trial, _cache_folder
from thrifty.predict.session import available_cores

PASSES = 5  # validation passes timed, while they take under a second together (the median)
TRAINING = 7  # a training row costs this many validation rows: 3 in FLOPs (Kaplan et al.
# 2020, 2.1), times the 2.4 measured for smaller batches and the optimizer (module docstring)
PROBES = 1 + 10 / 4  # timing budgets one profile spends: latency, then 10 throughput probes
VALIDATION_TIMING_S = 0.05  # the timing budget of a candidate's validation profile (trial.py)


@dataclass(frozen=True)
class Calibration:
    """What the expected seconds are computed from (the module docstring gives the model)."""

    validation_s: float  # one forward pass over the validation split, timed now
    training: float  # validation rows' time a training row takes (``TRAINING``)
    rows: dict[str, int]  # train, val, test
    epoch_s: float  # one epoch of fine-tuning, at most
    options: int  # runtime x threads options the model itself is measured in
    measure_s: float  # measuring the model itself as deployed
    scale: float  # the cache's measurement of the model / the model's (1: none cached)


class Cache:
    """The seconds each trial's measurement took, where the cache holds it. The search measures
    the model as it is first: if that is not cached, nothing of this search is, and no other
    trial is looked up (each look-up hashes the model and every split of the data)."""

    def __init__(self, model, data, pricing, workload, finetune):
        self.key = (model, data, pricing, workload, finetune)
        self.empty = False

    def seconds(self, trial: Trial) -> float | None:
        if self.empty:
            return None
        record = _cache_folder(*self.key[:2], trial, *self.key[2:]) / "measured.json"
        try:
            return float(json.loads(record.read_text())["seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            self.empty = self.empty or not trial.recipe
            return None


class Cost:
    """Expected seconds of a trial, from one timed validation pass (the module docstring)."""

    def __init__(self, model, data, finetune: FineTune, measured: float | None):
        self.finetune = finetune
        self.validation_s = _validation_seconds(model, data)
        rows = {"train": len(data.train), "val": len(data.val), "test": len(data.test)}
        self.rows = rows
        self.epoch_s = self.validation_s * (TRAINING * rows["train"] / max(1, rows["val"]) + 1)
        self.threads = len({1, available_cores()})
        self.runtimes = len({runtime for runtime, _ in options(model, [])})
        self.scale = 1.0  # for the model's own measuring, next
        modelled = self._measuring(Recipe())
        self.scale = measured / modelled if measured else 1.0
        self.calibration = Calibration(
            self.validation_s, TRAINING, rows, self.epoch_s, self.runtimes * self.threads,
            measured if measured else modelled, self.scale,
        )  # fmt: skip

    def seconds(self, trial: Trial, done: set[Trial]) -> float:
        """Fine-tuning the steps after the longest first steps measured (``done``), and
        measuring the result as deployed."""
        steps, start = trial.recipe.steps, 0
        for cut in range(len(steps) - 1, 0, -1):
            rest = steps[cut:]
            if not self.finetune.labels and any(technique(s).fine_tunes for s in rest):
                continue  # distilled from the model it starts from: only from the original
            if Trial(Recipe(steps[:cut]), trial.epochs) in done:
                start = cut
                break
        epochs = sum(
            t.tuning(step, trial.epochs)
            for step in steps[start:]
            if (t := technique(step)).fine_tunes
        )
        return epochs * self.epoch_s + self._measuring(trial.recipe)

    def _measuring(self, recipe: Recipe) -> float:
        """A validation profile, and a test profile per option: ``ANY_GRAPH`` alone runs a
        graph whose number format changed; a thinned one runs sparse too."""
        runtimes = self.runtimes
        if any(t.stage == "precision" for t in recipe.techniques()):
            runtimes = len(ANY_GRAPH)
        elif runtimes > 1 and any(map(thins, recipe)):
            runtimes += 1
        n = runtimes * self.threads
        passes = self.validation_s * (1 + n * self.rows["test"] / max(1, self.rows["val"]))
        return self.scale * (passes + PROBES * (VALIDATION_TIMING_S + n * TIMING_BUDGET_S))


def _validation_seconds(model, data) -> float:
    """A forward pass over the validation split, timed, in PyTorch as fine-tuning runs it (ONNX
    Runtime for a graph PyTorch cannot run: then nothing fine-tunes); a quick one up to
    ``PASSES`` times, its median (the first pays for warming up)."""
    from thrifty.models.onnx_torch import to_torch
    from thrifty.models.training import validation_score

    try:
        module = copy.deepcopy(model.module) if model.module is not None else to_torch(model)
    except ModelError:
        from thrifty.measure import profile

        def run() -> None:
            profile(model, data, split="val", timing_budget_s=0.0)
    else:

        def run() -> None:
            validation_score(module, data)

    times: list[float] = []
    while len(times) < PASSES and sum(times) < 1.0:  # a quick pass again: its median
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return sorted(times)[len(times) // 2]


def thins(step) -> bool:
    """Zeroes weights and trains on: only the bytes shrink."""
    declared = technique(step)
    return declared.stage == "structure" and declared.fine_tunes and not declared.arithmetic(step)
