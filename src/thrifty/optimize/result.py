"""What an optimization found: every candidate, the Pareto front, and the best within budget;
``report()`` is its record, which the terminal view, report.json and the page render."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from thrifty.optimize.trial import TOLERANCE, Measured
from thrifty.report.record import Report

EVEN = 0.05  # objectives this close (relative) count as a tie: timing noise between runs


@dataclass
class Optimized:
    baseline: Measured
    candidates: list[Measured]
    max_drop: float
    objective: str
    sensitivity: list[dict[str, Any]] = field(default_factory=list)  # per layer, thinned alone
    about: dict[str, Any] = field(default_factory=dict)  # what was optimized, how: describe_run
    not_applicable: dict[str, str] = field(default_factory=dict)  # recipe -> why not tried

    @property
    def within(self) -> list[Measured]:
        """Candidates (the baseline among them) within the quality budget, cheapest first."""
        pool = [self.baseline, *self.candidates]
        ok = [c for c in pool if c.drop(self.baseline) <= self.max_drop + TOLERANCE]
        return sorted(ok, key=lambda c: c.objective(self.objective))

    @property
    def best(self) -> Measured:
        """The cheapest within budget; the baseline itself if nothing compressed stays within.
        Candidates within ``EVEN`` of the cheapest are as cheap as timing can tell (the same
        integer graph, its weights zeroed or not, runs at the same speed): of those, the
        smallest file of the ones within half the budget wins, or of all if none is. The
        margin is for the validation split's noise: a drop read on a few thousand rows is
        uncertain by a few tenths of a point, and the smallest file is the one most likely to
        be past the edge."""
        within = self.within
        cheapest = within[0].objective(self.objective)
        even = [c for c in within if c.objective(self.objective) <= cheapest * (1 + EVEN)]
        safe = [c for c in even if c.drop(self.baseline) <= self.max_drop / 2 + TOLERANCE]
        return min(safe or even, key=lambda c: c.bytes)

    @property
    def closest(self) -> Measured | None:
        """When no compressed candidate stays within the budget: the one that lost least (None
        when one did, though none was cheaper than the model as it is)."""
        if self.best is not self.baseline or len(self.within) > 1 or not self.candidates:
            return None
        return min(self.candidates, key=lambda c: c.drop(self.baseline))

    @property
    def front(self) -> list[Measured]:
        """The Pareto front: no other candidate is at least as good on quality, the objective
        and bytes, and better on one."""
        pool = [self.baseline, *self.candidates]

        def key(c: Measured) -> tuple[float, float, float]:
            return (c.drop(self.baseline), c.objective(self.objective), float(c.bytes))

        return [
            c for c in pool
            if not any(all(a <= b for a, b in zip(key(o), key(c), strict=True)) and key(o) != key(c)
                       for o in pool)
        ]  # fmt: skip

    def report(self) -> Report:
        """The record of this optimization: every candidate and the decisions made, in the
        table's order (the baseline first)."""
        table, within = [self.baseline, *self.candidates], self.within
        return Report(
            about=self.about, objective=self.objective, max_drop=self.max_drop,
            baseline=self.baseline, candidates=tuple(self.candidates), best=self.best,
            front=tuple(self.front), within=tuple(c for c in table if c in within),
            sensitivity=tuple(self.sensitivity), not_applicable=self.not_applicable,
        )  # fmt: skip


def describe_run(model, data, pricing, workload, time_budget: float, seconds: float) -> dict:
    """What a report is about, for the page's head: the model (and the preprocessing its graph
    applies first, if thrifty trained it); the data, which is never preprocessed (every candidate
    is measured on the rows as given, so its ``preprocessing`` is empty); the metric, the prices
    and workload, the time budget and the seconds the search took of it, the machine it was
    measured on (its vector instructions decide what integer kernels gain), thrifty's version
    and the date."""
    from datetime import UTC, datetime

    from thrifty.measure.machine import this_machine
    from thrifty.version import __version__

    described = data.describe()
    return {
        "model": {
            "name": model.name,
            "source": model.source,
            "bytes": len(model.to_bytes()),
            "preprocessing": model.preprocessing,
        },
        "data": {
            **{key: described[key] for key in ("name", "source", "rows")},
            "preprocessing": [],
        },
        "metric": data.metric.spec,
        "pricing": pricing.name,
        "workload": asdict(workload),
        "time_budget_s": time_budget,
        "seconds_used": seconds,
        "machine": this_machine().to_dict(),
        "thrifty": __version__,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
