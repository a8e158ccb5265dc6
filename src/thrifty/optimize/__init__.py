"""``th.optimize``: the cheapest version of a model whose quality stays within a budget.

Techniques that pick their strengths for each model (``suggest``, in the registry) do so first;
candidates (compression recipes at several strengths, and their combinations) are each
compressed, packed, unpacked, measured in each runtime and setting (``deploy.py``), priced with
the pricing profile and workload, and kept or dropped by successive halving (``search.py``).
The result holds every candidate, the Pareto front over quality, the objective and bytes, and
the best within the budget; ``out`` gets the model, ``report.json`` and its page
(``report/folder.py``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from thrifty.compress import Recipe, Scans
from thrifty.compress.registry import TECHNIQUES
from thrifty.errors import DataError, NotApplicable
from thrifty.measure.quality import referenced
from thrifty.optimize import plan, search
from thrifty.optimize.result import Optimized, describe_run
from thrifty.optimize.rung import rung_runner
from thrifty.optimize.trial import OBJECTIVES, Trial, cached, measure, start_of
from thrifty.optimize.workers import Common, checked, workers_for
from thrifty.paths import writable_folder
from thrifty.report.folder import write_report
from thrifty.verbs import make_callable

__all__ = ["OBJECTIVES", "Optimized", "optimize", "plan"]


def optimize(
    model: Any,
    data: Any,
    max_drop: float = 0.5,
    *,
    objective: str = "money",
    metric: str | None = None,
    pricing: Any = None,
    workload: Any = None,
    time_budget: float = 600.0,
    finetune: Any = None,
    out: str | Path | None = None,
    progress: Any = None,
    workers: int | str = "auto",
    cluster: str | None = None,
) -> Optimized:
    """The cheapest candidate (by ``objective``: money, latency, size or bandwidth) whose
    quality is at most ``max_drop`` below the model's, found within ``time_budget`` seconds;
    written to ``out`` if given. Quality is ``metric`` (default: the data set's; accuracy or
    RMSE), its drop counted in percentage points for proportions and in units for errors.
    Trials are made (fine-tuned) in ``workers`` local processes ("auto": one for every two
    cores, so here on a machine of two), or as tasks on the Ray cluster at ``cluster``, and
    measured here one at a time (``rung.py``): the same choice as a serial search.

    >>> best = th.optimize("lenet.onnx", "fashion-mnist", max_drop=0.5)  # doctest: +SKIP
    """
    from thrifty.datasets import load as load_data
    from thrifty.loading import load
    from thrifty.measure import Workload, load_pricing

    if objective not in OBJECTIVES:
        raise DataError(f"unknown objective {objective!r}: choose one of {', '.join(OBJECTIVES)}")
    if max_drop < 0 or time_budget <= 0:
        raise DataError("max_drop must be >= 0 and time_budget > 0")
    checked(workers)
    if out is not None:
        writable_folder(out)
    started = time.monotonic()
    deadline = started + time_budget
    data = load_data(data) if isinstance(data, str | Path) else data
    data = data.with_metric(metric)
    model = load(model, input_shape=data.input_shape)
    data = referenced(data, model)  # an embedding's targets: the original's vectors
    pricing = load_pricing(pricing) if not hasattr(pricing, "name") else pricing
    workload = workload or Workload()

    not_applicable: dict[str, str] = {}  # recipe -> why it was not tried
    scans = Scans()  # the sensitivity scans, made once and reused by each candidate

    def measured(trial: Trial, made=None):
        """The trial measured (None: its recipe does not apply), from what was ``made``."""
        try:
            result = measure(
                model, data, trial, pricing, workload, finetune, objective, deadline, scans, made
            )
        except NotApplicable as why:
            not_applicable[str(trial.recipe)] = str(why)
            return None
        if progress is not None:
            progress(result)
        return result

    baseline = measured(Trial(Recipe(), 0))
    suggested = {name: t.suggest(model, data, max_drop, scans, deadline)
                 for name, t in TECHNIQUES.items() if t.suggest is not None}  # fmt: skip
    groups = search.groups({name: s.strengths for name, s in suggested.items()})
    where = workers_for(Common(model, data, finetune, scans), workers, cluster)
    try:
        # fine-tuning stops early enough that what it made is measured within the budget:
        # measuring a candidate as deployed takes about what measuring the baseline took (a
        # transformer's: tens of seconds, by which a trial tuned up to the deadline itself
        # would overrun it)
        run = rung_runner(
            where, measured, lambda t: start_of(model, data, t, pricing, workload, finetune),
            lambda t: cached(model, data, t, pricing, workload, finetune),
            until=deadline - baseline.seconds,
        )  # fmt: skip
        candidates = search.successive_halving(run, baseline, groups, max_drop, objective, deadline)
    finally:
        where.close()
    seconds = time.monotonic() - started
    sensitivity = [row for s in suggested.values() for row in s.table]
    result = Optimized(
        baseline, candidates, max_drop, objective, sensitivity,
        describe_run(model, data, pricing, workload, time_budget, seconds), not_applicable,
    )  # fmt: skip
    if out is not None:
        write_report(Path(out), result.report())
    return result


make_callable(__name__, optimize)  # th.optimize(model, data, max_drop); see thrifty/verbs.py
