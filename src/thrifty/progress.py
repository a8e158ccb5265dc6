"""Progress a person can follow anywhere. On a terminal each command keeps its rich bar or
spinner; elsewhere (a pipe, ``make``, a CI log) rich draws nothing until a bar stops, so
progress becomes a plain line on stderr: at most one every few seconds, and one at the end of
each step. Stdout is left alone, so ``--json`` output stays pure JSON."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator

EVERY = 5.0  # seconds at least between two lines off a terminal


def on_terminal() -> bool:
    """Whether stderr, where progress goes, is a terminal that a rich bar can redraw."""
    from rich.console import Console

    return Console(stderr=True).is_terminal


class Lines:
    """Plain progress lines on stderr: the first at once, then one at most every ``every``
    seconds, except that a line that ends a step (``done``) is always written; never the same
    line twice in a row."""

    def __init__(self, every: float = EVERY):
        self.every = every
        self.started = time.monotonic()
        self._last: float | None = None
        self._said = ""

    @property
    def seconds(self) -> float:
        """Seconds since these lines began."""
        return time.monotonic() - self.started

    def say(self, text: str, *, done: bool = False) -> None:
        now = time.monotonic()
        due = done or self._last is None or now - self._last >= self.every
        if due and text != self._said:
            self._last, self._said = now, text
            print(text, file=sys.stderr, flush=True)


@contextlib.contextmanager
def status(text: str, *, quiet: bool = False) -> Iterator[None]:
    """A spinner saying ``text`` on a terminal; elsewhere a line when it ends, saying how long
    it took (none at the start: an error there stays the only line on stderr)."""
    if quiet:
        yield
    elif on_terminal():
        from rich.console import Console

        with Console(stderr=True).status(text):
            yield
    else:
        lines = Lines()
        yield
        lines.say(f"{text}: done in {lines.seconds:.0f} s", done=True)


def measured(budget: float) -> Callable[[object], None]:
    """The optimizer's progress, a line per candidate measured and the time budget used:
    ``optimize: measured channels:0.5 (2 epochs) in 14 s; 48 s of 150 s used``."""
    lines = Lines()

    def say(candidate) -> None:
        trial = candidate.trial
        name = str(trial.recipe) or "the model as it is"
        epochs = f" ({trial.epochs} epochs)" if trial.epochs else ""
        lines.say(
            f"optimize: measured {name}{epochs} in {candidate.seconds:.0f} s; "
            f"{lines.seconds:.0f} s of {budget:.0f} s used",
            done=True,
        )

    return say
