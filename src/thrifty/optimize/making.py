"""Making a candidate: the part of a trial that fine-tunes, and so the part worth running in
parallel. ``make`` is a pure function of the model, the data, where the trial starts, the steps
left, the fine-tuning and the seconds it may take: it returns the packed file's bytes, so it
runs the same in this process, in a local worker process or on a Ray node (whose disk the
caller never sees). Measuring the candidate (timing it) is not done here: that stays with the
caller, one candidate at a time (``trial.measure``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from thrifty.compress import Recipe
from thrifty.errors import NotApplicable


@dataclass(frozen=True)
class Start:
    """Where a trial's compression starts: a measured prefix of its ``recipe`` (its packed
    bytes) or, with ``packed`` None, the model as given; and the steps still to apply."""

    recipe: Recipe
    packed: bytes | None
    rest: Recipe


@dataclass(frozen=True)
class Made:
    packed: bytes  # the candidate's .thrifty file
    cut_short: bool  # the deadline ended its fine-tuning early
    seconds: float  # what making it took
    not_applicable: str = ""  # why the recipe does not apply to the model (then no bytes)


def make(model, data, start: Start, epochs: int, finetune, seconds_left: float, scans) -> Made:
    """The candidate ``start`` leads to, fine-tuned for ``epochs`` at most, stopping within
    ``seconds_left`` (with the best weights so far) and packed."""
    import tempfile
    from pathlib import Path

    from thrifty.compress import FineTune, compress
    from thrifty.pack import pack, unpack

    started = time.perf_counter()
    deadline = time.monotonic() + seconds_left
    with tempfile.TemporaryDirectory(prefix="thrifty-trial-") as folder:
        path = Path(folder) / "model.thrifty"
        if start.packed is not None:
            path.write_bytes(start.packed)
            model = unpack(path)
        tuning = replace(finetune or FineTune(), epochs=epochs)
        if start.rest:
            try:
                model = compress(
                    model, start.rest, data, finetune=tuning, deadline=deadline, scans=scans
                )
            except NotApplicable as why:
                return Made(b"", False, time.perf_counter() - started, str(why))
        cut_short = epochs > 0 and time.monotonic() > deadline
        pack(model, path, metadata={"recipe": str(start.recipe) or "none"})
        return Made(path.read_bytes(), cut_short, time.perf_counter() - started)
