"""Latency and throughput of a session, with warm-up, repeats and the spread between them."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from thrifty.datasets.samples import Feed, Samples, feed, repeated, take

BATCH_SIZES = (1, 8, 32, 128, 512)


@dataclass(frozen=True)
class Latency:
    """Seconds for one sample at batch 1, as percentiles over ``runs`` timed calls."""

    p50_ms: float
    p95_ms: float
    runs: int


@dataclass(frozen=True)
class Throughput:
    """Samples/s at the best batch size; ``spread`` is (max - min) / median over the repeats."""

    samples_per_s: float
    batch_size: int
    spread: float
    repeats: int
    by_batch: dict[int, float] = field(default_factory=dict)


def measure_latency(
    session,
    x: Samples,
    *,
    warmup: int = 10,
    budget_s: float = 1.0,
    min_runs: int = 30,
    max_runs: int = 2000,
) -> Latency:
    """Time single-sample calls until ``budget_s`` has passed (at least ``min_runs`` of them)."""
    sample = feed(take(x, slice(0, 1)))
    for _ in range(warmup):
        session.run(sample)
    times: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(times) < max_runs and (len(times) < min_runs or time.perf_counter() < deadline):
        start = time.perf_counter()
        session.run(sample)
        times.append(time.perf_counter() - start)
    p50, p95 = np.percentile(times, [50, 95]) * 1000
    return Latency(float(p50), float(p95), len(times))


def measure_throughput(
    session, x: Samples, *, batch_sizes=BATCH_SIZES, budget_s: float = 0.25, repeats: int = 5
) -> Throughput:
    """Find the batch size with the most samples/s, then time it ``repeats`` more times.

    Larger batches are tried while they pay: once a call takes longer than ``budget_s`` and
    the rate did not rise, larger ones are not tried (a transformer's batch of 512 texts takes
    seconds a call, and pads every text to the batch's longest)."""
    by_batch: dict[int, float] = {}
    for size in sorted(batch_sizes):
        batch = _batch(x, size)
        started = time.perf_counter()
        by_batch[size] = _rate(session, batch, budget_s)
        slow = (time.perf_counter() - started) / 2 > budget_s  # the warm-up call and one more
        if slow and by_batch[size] < max(by_batch.values()):
            break
    best = max(by_batch, key=by_batch.get)
    rates = sorted(_rate(session, _batch(x, best), budget_s) for _ in range(repeats))
    median = float(np.median(rates))
    return Throughput(median, best, (rates[-1] - rates[0]) / median, repeats, by_batch)


def _rate(session, batch: Feed, budget_s: float) -> float:
    """Samples per second over as many calls as fit in ``budget_s`` after one: at least 3, or
    1 when one call alone outlasts the budget."""
    rows = len(batch) if isinstance(batch, np.ndarray) else len(next(iter(batch.values())))
    session.run(batch)
    calls, start = 0, time.perf_counter()
    while True:
        session.run(batch)
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= budget_s and (calls >= 3 or elapsed / calls > budget_s):
            return calls * rows / elapsed


def _batch(x: Samples, size: int) -> Feed:
    """``size`` rows of real data, repeated if the data is smaller."""
    return feed(repeated(x, size))
