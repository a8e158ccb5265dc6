"""The local backend: a pool of worker processes on this machine, each with one session.

A shard that raises is tried again (``retries`` times), then salvaged row by row. A worker that
dies (killed, out of memory) breaks the pool: a new pool is started and every shard not yet
committed is submitted again; committed shards are never redone, so each row is written once.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from thrifty.errors import ThriftyError
from thrifty.predict import worker
from thrifty.predict.inputs import Shard
from thrifty.predict.worker import Done, Plan

MAX_POOL_RESTARTS = 5


def run_local(
    plan: Plan, shards: list[Shard], workers: int, retries: int, done: Callable[[Done], None]
) -> None:
    """Predict every shard in ``shards`` on ``workers`` processes, calling ``done`` for each."""
    failures = dict.fromkeys((s.index for s in shards), 0)
    pending = {s.index: s for s in shards}
    for _ in range(MAX_POOL_RESTARTS + 1):
        try:
            _pool(plan, pending, workers, retries, failures, done)
            return
        except BrokenProcessPool:
            continue  # a worker died: a new pool takes the shards not committed yet
    raise ThriftyError(
        f"worker processes kept dying ({MAX_POOL_RESTARTS + 1} pools); {len(pending)} shards are "
        "not done; run the same command again to resume (in a script, call th.predict under "
        "`if __name__ == '__main__':`, which worker processes need)"
    )


def _pool(plan, pending, workers, retries, failures, done) -> None:
    context = multiprocessing.get_context("spawn")  # no fork: torch and ORT threads
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=worker.start, initargs=(plan,)
    ) as pool:
        running: dict[Future, Shard] = {}

        def submit(shard: Shard) -> None:
            salvage = failures[shard.index] > retries
            running[pool.submit(worker.salvage if salvage else worker.run, shard)] = shard

        for shard in list(pending.values())[: 2 * workers]:
            submit(shard)
        queue = list(pending.values())[2 * workers :]
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                shard = running.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool:
                    failures[shard.index] += 1  # it may be the shard that kills its worker
                    raise
                except Exception as error:  # the shard raised in its worker: try it again
                    failures[shard.index] += 1
                    if failures[shard.index] > retries + 1:  # even row by row: not the rows
                        raise ThriftyError(
                            f"rows {shard.start} to {shard.stop - 1} cannot be predicted: {error}"
                        ) from error
                    submit(shard)
                    continue
                del pending[shard.index]
                done(result)
                if queue:
                    submit(queue.pop(0))
