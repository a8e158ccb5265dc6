"""The local backend: a pool of worker processes on this machine, each with one session.

A shard that raises is tried again in its worker (``retries`` times), then salvaged row by row
(``Worker.attempt``). A worker that dies (killed, out of memory) breaks the pool: a new pool is
started and every shard not yet committed is submitted again; committed shards are never
redone, so each row is written once.
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
    pending = {s.index: s for s in shards}
    for _ in range(MAX_POOL_RESTARTS + 1):
        try:
            _pool(plan, pending, workers, retries, done)
            return
        except BrokenProcessPool:
            continue  # a worker died: a new pool takes the shards not committed yet
    raise ThriftyError(
        f"worker processes kept dying ({MAX_POOL_RESTARTS + 1} pools); {len(pending)} shards are "
        "not done; run the same command again to resume (in a script, call th.predict under "
        "`if __name__ == '__main__':`, which worker processes need)"
    )


def _pool(plan, pending: dict[int, Shard], workers: int, retries: int, done) -> None:
    """One pool over the pending shards, at most two per worker in flight; each committed shard
    leaves ``pending``. A dead worker raises BrokenProcessPool."""
    context = multiprocessing.get_context("spawn")  # no fork: torch and ORT threads
    queue = list(pending.values())
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=worker.start, initargs=(plan,)
    ) as pool:
        running: dict[Future, Shard] = {}
        while queue or running:
            while queue and len(running) < 2 * workers:
                shard = queue.pop(0)
                running[pool.submit(worker.attempt, shard, retries)] = shard
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                shard = running.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool:
                    raise
                except Exception as error:  # even row by row: the shard cannot be read
                    raise ThriftyError(
                        f"rows {shard.start} to {shard.stop - 1} cannot be predicted: {error}"
                    ) from error
                del pending[shard.index]
                done(result)
