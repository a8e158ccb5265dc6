"""The task's quality metric on held-out data: accuracy for classes, RMSE for values."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from thrifty.errors import DataMismatch


@dataclass(frozen=True)
class Quality:
    metric: str  # "accuracy" (higher is better) or "rmse" (lower is better)
    value: float
    rows: int
    split: str


def predict_all(session, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    return np.concatenate(
        [session.run(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
    )


def measure_quality(session, x, y, *, task: str, classes: int | None, split: str) -> Quality:
    """Run the whole split through the session and score it."""
    out = predict_all(session, x)
    if task == "classification":
        labels = to_labels(out, classes)
        return Quality("accuracy", float(np.mean(labels == y)), len(y), split)
    values = out.reshape(len(y), -1)
    if values.shape[1] != 1:
        raise DataMismatch(
            f"a regression model must give one value per row; it gives "
            f"{values.shape[1]}: pass a regression model or classification data"
        )
    return Quality("rmse", float(np.sqrt(np.mean((values[:, 0] - y) ** 2))), len(y), split)


def to_labels(out: np.ndarray, classes: int | None) -> np.ndarray:
    """Class labels from scores (N x C), one sigmoid probability (N x 1), or labels (N,)."""
    if out.ndim == 1 and np.issubdtype(out.dtype, np.integer):
        return out
    scores = out.reshape(len(out), -1)
    if scores.shape[1] == 1 and classes == 2:
        return (scores[:, 0] > 0.5).astype(np.int64)
    if classes is not None and scores.shape[1] != classes:
        raise DataMismatch(
            f"the model gives {scores.shape[1]} scores per row but the data has {classes} classes; "
            "pass data made for this model"
        )
    return scores.argmax(axis=1)
