"""What one worker process does: hold a runtime session, and turn a shard of input rows into a
committed shard of predictions. Used by the local pool and by the Ray actors alike."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from thrifty.datasets.samples import feed, run_in_length_order, take
from thrifty.errors import DataError
from thrifty.predict.inputs import Shard, open_input
from thrifty.predict.outputs import write_shard


@dataclass(frozen=True)
class Plan:
    """Everything a worker needs to start, picklable: files, not objects."""

    model: Path
    source: Path  # the input's reader path: .npy, .parquet or a folder of them
    folder: Path
    runtime: str
    device: str
    threads: int
    batch_size: int
    precision: str = "fp32"


@dataclass(frozen=True)
class Done:
    shard: int
    rows: int
    failed: int
    seconds: float


class Worker:
    def __init__(self, plan: Plan, source=None):
        """``source``: a reader in this process (a DLPack array's); by default the plan's file,
        which the driver spilled the input to if it had to."""
        from thrifty.loading import load
        from thrifty.predict.session import open_session

        self.plan = plan
        self.input = source or open_input(plan.source)
        self.model = load(plan.model)
        self.vectors = self.model.task == "embedding"  # written as vectors, not classes
        self.session = open_session(
            self.model, plan.runtime, plan.device, plan.threads, plan.precision
        )

    def run(self, shard: Shard) -> Done:
        """Predict a shard in batches and commit it; an exception leaves nothing committed."""
        started = time.perf_counter()
        x = self.input.read(shard.start, shard.stop)
        scores = run_in_length_order(self._run, x, self.plan.batch_size)
        rows = np.arange(shard.start, shard.stop)
        write_shard(self.plan.folder, shard, rows, scores, vectors=self.vectors)
        return Done(shard.index, shard.rows, 0, time.perf_counter() - started)

    def attempt(self, shard: Shard, retries: int) -> Done:
        """``run``, tried ``retries`` more times if it raises, then ``salvage``: a shard whose
        rows always fail ends with those rows reported, never in a loop."""
        for _ in range(retries + 1):
            try:
                return self.run(shard)
            except Exception:  # the runtime's or the reader's own errors: try again
                continue
        return self.salvage(shard)

    def salvage(self, shard: Shard) -> Done:
        """A shard that kept failing, row by row: the rows that work are committed, the ones
        that fail are listed with their error beside the shard."""
        started = time.perf_counter()
        x = self.input.read(shard.start, shard.stop)
        good, scores, failures = [], [], {}
        for offset in range(len(x)):
            try:
                scores.append(self._run(take(x, slice(offset, offset + 1))))
                good.append(shard.start + offset)
            except Exception as error:  # the runtime's own errors, of any kind
                failures[shard.start + offset] = f"{type(error).__name__}: {error}"[:300]
        rows = np.asarray(good, dtype=np.int64)
        scores = np.concatenate(scores) if scores else None
        write_shard(self.plan.folder, shard, rows, scores, failures, vectors=self.vectors)
        return Done(shard.index, len(good), len(failures), time.perf_counter() - started)

    def _run(self, batch) -> np.ndarray:
        """The session's output; rows with NaN or infinite features are refused, not predicted
        into garbage."""
        if not _finite(batch):
            raise DataError("the row has NaN or infinite features")
        return self.session.run(feed(self.model.fit_inputs(batch)))


def _finite(batch) -> bool:
    """No NaN or infinity in a batch: a tensor, an array, or named inputs (integers always are)."""
    if hasattr(batch, "isfinite"):
        return bool(batch.isfinite().all())
    arrays = [batch] if isinstance(batch, np.ndarray) else batch.feed().values()
    return all(np.isfinite(a).all() for a in arrays if np.issubdtype(a.dtype, np.floating))


_worker: Worker | None = None  # one per process of the local pool


def start(plan: Plan) -> None:
    global _worker
    _worker = Worker(plan)


def attempt(shard: Shard, retries: int) -> Done:
    return _worker.attempt(shard, retries)
