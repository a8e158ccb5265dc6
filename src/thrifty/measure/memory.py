"""Peak resident memory while a block of code runs, sampled from a background thread."""

from __future__ import annotations

import threading


class PeakMemory:
    """``with PeakMemory() as peak: ...``; then ``peak.bytes`` is the highest RSS above the start.

    Sampled every millisecond with psutil: a spike shorter than that can be missed, which is
    why it is reported as the peak *seen*. Counts the whole process, runtimes' arenas included.
    """

    def __init__(self, interval_s: float = 0.001):
        self.interval_s = interval_s
        self.bytes = 0

    def __enter__(self) -> PeakMemory:
        import psutil

        self._process = psutil.Process()
        self._start = self._peak = self._process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._peak = max(self._peak, self._process.memory_info().rss)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._peak = max(self._peak, self._process.memory_info().rss)
        self.bytes = self._peak - self._start
