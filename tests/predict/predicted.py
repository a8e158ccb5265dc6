"""What the predict tests check: that every row is written once, with what the model gives it."""

from __future__ import annotations

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
