"""Where candidates are made: in this process, in local worker processes, or on a Ray cluster.

Each holds what every trial uses (the model, the data, the fine-tuning settings and the
sensitivity scans made so far), sent once, and makes a batch of trials with ``make_all``:
(start, epochs, seconds left) each, in the batch's order. Workers only make candidates (the
fine-tuning); the caller measures them afterwards, one at a time, with every worker idle, so
no timing is taken while another trial trains on the same cores.

Each local worker fine-tunes on ``threads`` cores (the machine's, divided among the workers),
each Ray task on one (``num_cpus=1``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from thrifty.errors import DataError, ThriftyError
from thrifty.optimize.making import Made, Start, make

Task = tuple[Start, int, float]  # where it starts, fine-tuning epochs, seconds it may take


@dataclass(frozen=True)
class Common:
    """What every trial of a search uses, sent to each worker once."""

    model: Any
    data: Any
    finetune: Any
    scans: Any


class Here:
    """Trials made in this process, one after another (the caller's torch threads)."""

    parallel = False
    where = "this process"

    def __init__(self, common: Common):
        self.common = common

    def make_all(self, tasks: Iterable[Task]) -> list[Made]:
        return [_make(self.common, *task) for task in tasks]

    def close(self) -> None:
        pass


class Processes:
    """Trials made side by side in ``workers`` local processes (started fresh, not forked: a
    forked copy of a process that ran PyTorch's thread pool may hang); what they use travels
    once, as each starts."""

    parallel = True

    def __init__(self, common: Common, workers: int, threads: int):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        _sendable(common)
        self.where = f"{workers} local processes of {threads} thread(s)"
        self.pool = ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_adopt, initargs=(common, threads),
        )  # fmt: skip

    def make_all(self, tasks: Iterable[Task]) -> list[Made]:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return list(self.pool.map(_make_adopted, *zip(*tasks, strict=True)))
        except BrokenProcessPool:
            raise ThriftyError(
                "a worker process died making a trial (out of memory?); run again with "
                "--workers 1 (in a script, call th.optimize under `if __name__ == "
                "'__main__':`, which worker processes need)"
            ) from None

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)


class Cluster:
    """Trials made as Ray tasks on the cluster at ``address`` (``"local"``: start one here, or
    join the one ``RAY_ADDRESS`` names), one CPU each: a cluster runs as many at once as it
    has CPUs."""

    parallel = True

    def __init__(self, common: Common, address: str):
        from thrifty.predict.ray_backend import connect

        self.ray = connect(address)
        self.where = f"the Ray cluster at {address}"
        self.common = self.ray.put(common)  # once: every task reads it from the object store
        self.task = self.ray.remote(num_cpus=1)(_make_on_node).options(max_retries=1)

    def make_all(self, tasks: Iterable[Task]) -> list[Made]:
        return self.ray.get([self.task.remote(self.common, *task) for task in tasks])

    def close(self) -> None:
        pass


def workers_for(common: Common, workers: int | str = "auto", cluster: str | None = None):
    """Where this search makes its trials: on ``cluster`` (a Ray address) if given; else
    ``workers`` local processes, ``"auto"`` being one for every two cores (fine-tuning two
    trials on one core each is no faster than one on two), so that a machine of two or three
    cores makes them here, as it does a model that cannot be sent to another process."""
    from thrifty.predict.session import available_cores

    checked(workers)
    if cluster is not None:
        return Cluster(common, cluster)
    cores = available_cores()
    count = max(1, cores // 2) if workers == "auto" else int(workers)
    if count == 1:
        return Here(common)
    try:
        return Processes(common, count, threads=max(1, cores // count))
    except DataError:
        if workers != "auto":
            raise
        return Here(common)


def checked(workers: int | str) -> int | str:
    """``workers`` if it is a count of processes (or "auto"); else one line saying so."""
    if workers != "auto" and (not str(workers).isdigit() or int(workers) < 1):
        raise DataError(f"workers must be a whole number >= 1 or auto; got {workers!r}")
    return workers


_ADOPTED: Common | None = None  # a worker process's copy of what the trials use


def _sendable(common: Common) -> None:
    """One line, not a broken pool, if what the trials use cannot travel to a process."""
    from multiprocessing.reduction import ForkingPickler

    try:
        ForkingPickler.dumps(common)
    except (TypeError, AttributeError, ValueError) as error:
        raise DataError(
            f"the model or data cannot be sent to worker processes ({error}); "
            "run with --workers 1 (a model class defined in a script's __main__ cannot travel)"
        ) from None


def _adopt(common: Common, threads: int) -> None:
    import torch

    global _ADOPTED
    torch.set_num_threads(threads)
    _ADOPTED = common


def _make_adopted(start: Start, epochs: int, seconds_left: float) -> Made:
    return _make(_ADOPTED, start, epochs, seconds_left)


def _make_on_node(common: Common, start: Start, epochs: int, seconds_left: float) -> Made:
    import torch

    torch.set_num_threads(1)
    return _make(common, start, epochs, seconds_left)


def _make(common: Common, start: Start, epochs: int, seconds_left: float) -> Made:
    return make(
        common.model, common.data, start, epochs, common.finetune, seconds_left, common.scans
    )
