"""Progress of bytes moved, with the bytes saved (already there, or spared by deltas) beside
it: a bar on a terminal, plain lines elsewhere."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

from thrifty.units import human_bytes


class Tally:
    """Bytes moved and saved, counted from many threads, each change shown through ``show``
    (called under the lock with the tally and the bytes just done) when one is given.
    ``by_deltas`` and ``records`` count the part of the saving that records rebuilt from deltas
    made, and how many records that was."""

    def __init__(self, show: Callable[[Tally, int], None] | None = None):
        self.moved = self.saved = self.by_deltas = self.records = 0
        self._lock = threading.Lock()
        self._show = show

    def add(self, moved: int = 0, saved: int = 0, by_deltas: int = 0, records: int = 0) -> None:
        with self._lock:
            self.moved += moved
            self.saved += saved
            self.by_deltas += by_deltas
            self.records += records
            if self._show is not None:
                self._show(self, moved + saved)

    @property
    def saving(self) -> str:
        text = f"saved {human_bytes(self.saved)}"
        if self.records:
            text += f" ({human_bytes(self.by_deltas)} by deltas)"
        return text


@contextlib.contextmanager
def tally(description: str, total: int, show: bool) -> Iterator[Tally]:
    """A Tally of ``total`` bytes, shown when asked: a rich bar on a terminal, otherwise a line
    every few seconds and one at the end (thrifty.progress)."""
    from thrifty.progress import Lines, on_terminal

    if not show:
        yield Tally()
    elif on_terminal():
        with _bar(description, total) as (bar, task):
            yield Tally(lambda t, done: bar.update(task, advance=done, saved=t.saving))
    else:
        lines = Lines()

        def say(t: Tally, done: int = 0, *, end: bool = False) -> None:
            if done or end:
                lines.say(
                    f"{description}: {human_bytes(t.moved + t.saved)} of {human_bytes(total)}, "
                    f"{t.saving}, {lines.seconds:.0f} s",
                    done=end,
                )

        count = Tally(say)
        yield count
        say(count, end=True)


@contextlib.contextmanager
def _bar(description: str, total: int):
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TransferSpeedColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("{task.fields[saved]}"),
    )
    with Progress(*columns, transient=True) as bar:
        yield bar, bar.add_task(description, total=total, saved="saved 0 B")
