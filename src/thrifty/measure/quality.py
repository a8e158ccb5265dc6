"""The task's quality metric on held-out data (``thrifty.datasets.metrics``): accuracy or RMSE
unless the data set names another."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from thrifty.datasets.metrics import Metric, score
from thrifty.datasets.samples import Samples, batches, feed


@dataclass(frozen=True)
class Quality:
    metric: str  # as written: "accuracy", "recall:malignant", "rmse", ...
    value: float
    rows: int
    split: str


def predict_all(session, x: Samples, batch_size: int = 1024) -> np.ndarray:
    """The session's outputs for every sample of ``x`` (an array, or named inputs), in order."""
    return np.concatenate([session.run(feed(part)) for part in batches(x, batch_size)])


def measure_quality(
    session, x, y, *, metric: Metric, classes: Sequence[str] | int | None, split: str
) -> Quality:
    """Run the whole split through the session and score it."""
    return Quality(metric.spec, score(metric, predict_all(session, x), y, classes), len(y), split)


def reference(model):
    """``x -> model's own vectors for x``, from ONNX Runtime on its graph (the artifact that
    ships): what an embedding's candidates are compared with."""
    from thrifty.predict.session import open_session

    session = open_session(model, device="cpu")
    return lambda x: predict_all(session, model.fit_inputs(x))


def referenced(data, model):
    """``data`` with ``model``'s own vectors as every split's targets, for the ``embedding``
    task (as given otherwise)."""
    return data.with_reference(reference(model)) if data.needs_reference else data
