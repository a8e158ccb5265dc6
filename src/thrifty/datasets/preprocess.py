"""Preprocessing steps: part of a data set's description, not hidden inside a loader.

Each step is fitted on the training split only and records its numbers, so it can be shown in a
report and applied unchanged to new rows at inference time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


class Step(Protocol):
    def apply(self, x: np.ndarray) -> np.ndarray: ...
    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Scale:
    """``x * factor``: e.g. 8-bit pixels to [0, 1] with ``factor = 1/255``."""

    factor: float

    def apply(self, x: np.ndarray) -> np.ndarray:
        return (x.astype(np.float32) * np.float32(self.factor)).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        return {"step": "scale", "factor": self.factor}


@dataclass(frozen=True)
class Standardize:
    """``(x - mean) / std`` per feature, with mean and std measured on the training split."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def fit(cls, x: np.ndarray) -> Standardize:
        mean = x.astype(np.float64).mean(axis=0)
        std = x.astype(np.float64).std(axis=0)
        std[std == 0] = 1.0  # a constant feature stays constant instead of dividing by zero
        return cls(tuple(float(v) for v in mean.ravel()), tuple(float(v) for v in std.ravel()))

    def apply(self, x: np.ndarray) -> np.ndarray:
        shape = (1, *x.shape[1:])
        mean = np.asarray(self.mean, dtype=np.float32).reshape(shape)
        std = np.asarray(self.std, dtype=np.float32).reshape(shape)
        return ((x.astype(np.float32) - mean) / std).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        return {"step": "standardize", "mean": list(self.mean), "std": list(self.std)}
