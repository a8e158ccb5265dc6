"""The Ray backend: the same workers as the local pool, as a Ray Data actor pool.

The shards are a Ray Data dataset (one row each); ``map_batches`` runs them on a fixed pool of
actors, each holding one session, each committing its shards' files exactly as a local worker
does, so both backends write the same output. An actor that dies is restarted by Ray Data and
its shard run again (its actor pools retry by default); a shard committed before the death is
committed again with the same bytes, so no row is lost or written twice.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable

import numpy as np

from thrifty.errors import RuntimeUnavailable
from thrifty.predict.inputs import Shard
from thrifty.predict.worker import Done, Plan, Worker


class ShardActor:
    def __init__(self, plan: Plan, retries: int):
        self.worker, self.retries = Worker(plan), retries

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        results = [
            self.worker.attempt(Shard(int(i), int(a), int(b)), self.retries)
            for i, a, b in zip(batch["index"], batch["start"], batch["stop"], strict=True)
        ]
        return {
            "shard": np.array([r.shard for r in results]),
            "rows": np.array([r.rows for r in results]),
            "failed": np.array([r.failed for r in results]),
            "seconds": np.array([r.seconds for r in results]),
        }


def ray_runner(address: str) -> Callable:
    """``run(plan, shards, workers, retries, done)`` on the Ray cluster at ``address``
    (``"local"``: start one on this machine, or join the one ``RAY_ADDRESS`` names)."""

    def run(plan: Plan, shards: list[Shard], workers: int, retries: int, done) -> None:
        data = connect(address).data
        data.DataContext.get_current().enable_progress_bars = False
        items = [{"index": s.index, "start": s.start, "stop": s.stop} for s in shards]
        results = data.from_items(items, override_num_blocks=len(items)).map_batches(
            ShardActor,
            fn_constructor_args=(plan, retries),
            batch_size=1,
            compute=data.ActorPoolStrategy(size=workers),
            num_cpus=plan.threads,
        )
        with warnings.catch_warnings():  # "fewer inputs than actors" on a small job: harmless
            warnings.simplefilter("ignore", UserWarning)
            for row in results.iter_rows():
                done(Done(int(row["shard"]), int(row["rows"]), int(row["failed"]), row["seconds"]))

    return run


def connect(address: str):
    try:
        import ray
        import ray.data  # noqa: F401  (ray.data is a subpackage: imported, not just reached)
    except ImportError:
        raise RuntimeUnavailable("the Ray backend needs Ray: pip install 'thrifty[ray]'") from None
    for name in ("ray", "ray.data"):  # its INFO lines would drown the progress bar
        logging.getLogger(name).setLevel(logging.ERROR)
    if not ray.is_initialized():
        ray.init(
            address=None if address == "local" else address,
            include_dashboard=False,
            log_to_driver=False,
            logging_level="ERROR",
        )
    return ray
