"""What an optimization found, as one record: what it was about, the budget, every candidate,
the one chosen, the Pareto front, and what was not tried. The terminal view, report.json and
the HTML page all render a ``Report``; docs/REPORT.md specifies its JSON, version by version.

The record holds the search's decisions (``best``, ``front``, ``within``) as data: the rules
that made them are the optimizer's (``optimize/result.py``), which this layer does not import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from thrifty.errors import DataError
from thrifty.report.candidate import Candidate, Json

VERSION = 2  # report.json's form (docs/REPORT.md); version 1 is read too


@dataclass(frozen=True)
class Report:
    about: Json  # what was optimized, on what, how: optimize.result.describe_run; JSON values
    objective: str  # "money", "latency", "size" or "bandwidth"
    max_drop: float  # the quality budget: points of a share, units of an error
    baseline: Candidate  # the model as it is
    candidates: tuple[Candidate, ...]  # in the order tried
    best: Candidate  # the one chosen: the baseline when nothing compressed was better
    front: tuple[Candidate, ...]  # the Pareto front (quality, objective, bytes), table order
    within: tuple[Candidate, ...]  # within the budget, the baseline among them; table order
    sensitivity: tuple[Json, ...]  # per layer: its weights, and the drop at each sparsity
    not_applicable: dict[str, str]  # recipe -> why it was not tried

    @property
    def table(self) -> tuple[Candidate, ...]:
        """The baseline, then every candidate: a report's rows."""
        return (self.baseline, *self.candidates)

    def to_json(self) -> Json:
        return {
            "version": VERSION,
            "about": self.about,
            "objective": self.objective,
            "max_drop": self.max_drop,
            "baseline": self._entry(self.baseline),
            "best": self._entry(self.best),
            "candidates": [self._entry(c) for c in self.candidates],
            "sensitivity": list(self.sensitivity),
            "not_applicable": self.not_applicable,
        }

    def _entry(self, candidate: Candidate) -> Json:
        """A candidate's object: its record, and where it stands in this report."""
        return {
            **candidate.to_json(),
            "drop_validation": candidate.drop(self.baseline),
            "drop_test": candidate.drop(self.baseline, "test"),
            "pareto": candidate in self.front,
            "within": candidate in self.within,
        }

    @classmethod
    def from_json(cls, document: Json) -> Report:
        """The record of a report.json of version 2 or 1 (``best`` is its entry of the table,
        found by its trial); a DataError naming the version for any other."""
        document = _current(document)
        rows = [
            (Candidate.from_json(entry), entry)
            for entry in (document["baseline"], *document["candidates"])
        ]
        chosen = document["best"]["trial"]
        best = next((c for c, entry in rows if entry["trial"] == chosen), None)
        if best is None:
            raise DataError("its best is none of its candidates")
        return cls(
            about=document["about"],
            objective=document["objective"],
            max_drop=document["max_drop"],
            baseline=rows[0][0],
            candidates=tuple(c for c, _ in rows[1:]),
            best=best,
            front=tuple(c for c, entry in rows if entry["pareto"]),
            within=tuple(c for c, entry in rows if entry["within"]),
            sensitivity=tuple(document["sensitivity"]),
            not_applicable=document["not_applicable"],
        )


def _current(document: Json) -> Json:
    """``document`` in the current form. Of what is read, version 1 (thrifty wrote no
    ``version`` before 2, but ``about``) lacks only the baseline's ``within``: it always is;
    version 0 (neither) lacks how each candidate runs, and is refused."""
    version: Any = document.get("version", 1 if "about" in document else 0)
    if version == VERSION:
        return document
    if version == 1:
        return {**document, "baseline": {**document["baseline"], "within": True}}
    unmarked = " (it names no version, nor what it is about)" if "version" not in document else ""
    newer = isinstance(version, int) and version > VERSION
    raise DataError(
        f"report.json version {version}{unmarked}; this thrifty reads versions {VERSION} and 1: "
        + ("upgrade thrifty to read it" if newer else "run thrifty optimize again to write it")
    )
