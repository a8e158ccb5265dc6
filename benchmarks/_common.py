"""Helpers shared by the benchmarks: the zoo's data and baselines, and interleaved measurement of
sessions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import thrifty as th
from thrifty.datasets import Dataset, load
from thrifty.measure.machine import this_machine
from thrifty.measure.timing import BATCH_SIZES, Throughput, measure_throughput

CACHE = Path("out/bench")  # baselines trained once, and what the benchmarks write

# The data each zoo model is measured on: the inputs' shape and the number of outputs follow.
MODEL_DATA = {
    "lenet-300-100": "fashion-mnist",
    "lenet-5": "fashion-mnist",
    "mlp-2048": "fashion-mnist",
    "tabular-mlp": "breast-cancer",
}


@dataclass(frozen=True)
class Measured:
    """One runtime's throughput over interleaved rounds.

    ``samples_per_s`` is the median over rounds; ``batch_size`` the best batch size of the median
    round; ``spread`` is (max - min) / median over rounds (within the one round, if only one).
    """

    samples_per_s: float
    batch_size: int
    spread: float
    rounds: int


def cpu() -> str:
    """The CPU model, its cores and vector flags (as lscpu names them), in one line: every
    benchmark records it with its figures (``cpu`` in its JSON, as a string), as which runtime
    or precision wins depends on them."""
    return str(this_machine())


def machine_line() -> str:
    return f"measured on {cpu()}"


def datasets(names) -> dict[str, Dataset]:
    """Each data set the models ``names`` need, loaded once."""
    return {data: load(data) for data in sorted({MODEL_DATA[name] for name in names})}


def baseline(name: str, data: Dataset | str = "fashion-mnist") -> th.Model:
    """Zoo model ``name`` trained on ``data``: once, then read from ``CACHE`` (a file from before
    thrifty's models preprocessed in their graph, which takes scaled pixels, trains again)."""
    path = CACHE / f"{name}-fashion-mnist.onnx"
    if not path.is_file() or not th.load(path).preprocessing:
        CACHE.mkdir(parents=True, exist_ok=True)
        th.train_baseline(name, data, path)
    return th.load(path)


def quick_baseline(data: Dataset, epochs: int = 3) -> th.Model:
    """A tabular MLP on ``data`` (digits, say), trained for a few epochs: the seconds-long
    stand-in for a zoo baseline that the benchmarks' ``--quick`` runs (and their tests) use."""
    from thrifty.models.export import from_module
    from thrifty.models.training import TrainConfig, train
    from thrifty.models.zoo import build

    module = build(
        "tabular-mlp", data.input_shape, data.num_classes, steps=data.training_steps, seed=0
    )
    trained = train(module, data, TrainConfig(epochs=epochs)).module
    return from_module(trained, data.input_shape, name="tabular-mlp")


def rows(data: Dataset, count: int = max(BATCH_SIZES)) -> np.ndarray:
    """The first ``count`` test rows, float32 and contiguous: the same rows for every runtime."""
    return np.ascontiguousarray(data.test.x[:count], dtype=np.float32)


def interleaved(sessions: dict, x: np.ndarray, *, rounds: int, budget_s: float) -> dict:
    """Throughput of each session, measured in turn for ``rounds`` rounds: ``{name: Measured}``.

    The order reverses every round (A B, B A, A B, ...), so drift in the machine's speed (turbo,
    other load, cache state) falls on every session alike rather than on whichever ran last.
    """
    runs: dict[str, list[Throughput]] = {name: [] for name in sessions}
    order = list(sessions)
    for round_ in range(rounds):
        for name in order if round_ % 2 == 0 else order[::-1]:
            runs[name].append(measure_throughput(sessions[name], x, budget_s=budget_s))
    return {name: summarize(results) for name, results in runs.items()}


def summarize(results: list[Throughput]) -> Measured:
    ranked = sorted(results, key=lambda r: r.samples_per_s)
    median = float(np.median([r.samples_per_s for r in ranked]))
    if len(ranked) > 1:
        spread = (ranked[-1].samples_per_s - ranked[0].samples_per_s) / median
    else:
        spread = ranked[0].spread
    return Measured(median, ranked[len(ranked) // 2].batch_size, spread, len(ranked))
