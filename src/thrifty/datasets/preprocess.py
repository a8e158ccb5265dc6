"""Preprocessing for the models thrifty trains: part of a data set's description, and of the
model's graph, never of the rows.

A data set's rows stay as the user gave them, so every model thrifty measures, and every file it
writes, takes the inputs the user will feed it. A model thrifty trains from scratch learns better
on scaled inputs, so the data set carries the steps fitted for it (on the training split only)
and the trained model applies them in its first layers (``thrifty.models.preprocessing``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


class Step(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Scale:
    """``x * factor``: e.g. 8-bit pixels to [0, 1] with ``factor = 1/255``."""

    factor: float

    def to_dict(self) -> dict[str, Any]:
        return {"step": "scale", "factor": self.factor}


@dataclass(frozen=True)
class Standardize:
    """``(x - mean) / std``, with mean and std measured on the training split.

    Per feature for rows of features; over all values for images and other samples of more
    than one axis, whose values share one scale (a per-pixel mean would be a weight the size
    of an image, which pruning and sharing would mistake for a layer's).
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def fit(cls, x: np.ndarray) -> Standardize:
        values = x.astype(np.float64)
        values = values if values.ndim == 2 else values.reshape(-1, 1)
        mean, std = values.mean(axis=0), values.std(axis=0)
        std[std == 0] = 1.0  # a constant feature stays constant instead of dividing by zero
        return cls(tuple(float(v) for v in mean), tuple(float(v) for v in std))

    def to_dict(self) -> dict[str, Any]:
        return {"step": "standardize", "mean": list(self.mean), "std": list(self.std)}
