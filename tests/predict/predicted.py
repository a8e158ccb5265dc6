"""What the predict tests check: that every row is written once, with what the model gives it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

import thrifty as th
from thrifty.predict.session import open_session

FEATURES = 16  # the test model's inputs (conftest.py)


def expected(model, rows) -> np.ndarray:
    return open_session(th.load(model), threads=1).run(rows)


def read_parquet(path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    table = pq.read_table(path)
    probabilities = np.stack(table.column("probabilities").to_pylist())
    return table.column("row").to_numpy(), table.column("class").to_numpy(), probabilities


def check(model, rows, row_ids, classes, probabilities) -> None:
    """Each row exactly once, with the class and probabilities the model gives it."""
    assert np.array_equal(np.sort(row_ids), np.arange(len(rows)))
    order = np.argsort(row_ids)
    scores = expected(model, rows)
    assert np.array_equal(classes[order], scores.argmax(axis=1))
    softmax = np.exp(scores - scores.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(probabilities[order], softmax, rtol=1e-4, atol=1e-6)


def kill_a_driver(model, rows: np.ndarray, folder: Path, cluster: str | None = None) -> int:
    """Run th.predict over ``rows`` (1,000-row shards) in a driver process, SIGKILL it and its
    process group once 5 shards are committed; return how many were committed by then."""
    np.save(folder / "x.npy", rows)
    script = (
        "import thrifty as th, thrifty.predict.inputs as i\n"
        "i.SHARD_ROWS = 1000\n"
        "if __name__ == '__main__':\n"
        f"    th.predict({str(model)!r}, {str(folder / 'x.npy')!r}, "
        f"{str(folder / 'out.parquet')!r}, workers=2, batch_size=32, cluster={cluster!r})\n"
    )
    (folder / "job.py").write_text(script)
    driver = subprocess.Popen([sys.executable, str(folder / "job.py")], start_new_session=True)
    parts, deadline = folder / ".out.parquet.parts", time.monotonic() + 120
    while len(list(parts.glob("part-*.parquet"))) < 5 and time.monotonic() < deadline:
        assert driver.poll() is None, "the job ended before it could be killed"
        time.sleep(0.01)
    os.killpg(driver.pid, signal.SIGKILL)  # the driver and its local workers, at once
    driver.wait(10)
    finished = len(list(parts.glob("part-*.parquet")))
    assert 5 <= finished < len(rows) // 1000 and not (folder / "out.parquet").exists()
    return finished
