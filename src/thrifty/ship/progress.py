"""A progress bar of bytes moved, with the bytes saved (already there, or spared by deltas)
beside it."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from thrifty.report.text import human_bytes


class Tally:
    """Bytes moved and saved, counted from many threads, shown on a bar when one is given.
    ``by_deltas`` and ``records`` count the part of the saving that records rebuilt from deltas
    made, and how many records that was."""

    def __init__(self, bar=None, task=None):
        self.moved = self.saved = self.by_deltas = self.records = 0
        self._lock = threading.Lock()
        self._bar, self._task = bar, task

    def add(self, moved: int = 0, saved: int = 0, by_deltas: int = 0, records: int = 0) -> None:
        with self._lock:
            self.moved += moved
            self.saved += saved
            self.by_deltas += by_deltas
            self.records += records
            if self._bar is not None:
                text = f"saved {human_bytes(self.saved)}"
                if self.records:
                    text += f" ({human_bytes(self.by_deltas)} by deltas)"
                self._bar.update(self._task, advance=moved + saved, saved=text)


@contextlib.contextmanager
def tally(description: str, total: int, show: bool) -> Iterator[Tally]:
    if not show:
        yield Tally()
        return
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
        yield Tally(bar, bar.add_task(description, total=total, saved="saved 0 B"))
