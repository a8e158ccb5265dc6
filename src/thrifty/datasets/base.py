"""A data set as thrifty sees it: three seeded splits and the description of how they were made."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from thrifty.datasets.metrics import DEFAULT, Metric, parse
from thrifty.datasets.preprocess import Step
from thrifty.datasets.samples import Samples, feed, sample_shape, take
from thrifty.datasets.samples import describe as describe_samples

Task = Literal["classification", "regression", "embedding"]


@dataclass(frozen=True)
class Split:
    """Samples ``x`` and targets ``y`` of one split, one row per sample.

    ``x`` is one array (the simple case) or several named inputs of any dtype
    (``thrifty.datasets.samples``); ``y`` is class indices, values, or vectors (N x k): for
    the ``embedding`` task, the original model's, None until it has run (``with_reference``).
    """

    x: Samples
    y: np.ndarray | None

    def __len__(self) -> int:
        return len(self.x)

    def batches(self, size: int):
        """Yield ``(x, y)`` slices of at most ``size`` rows, in order, ``x`` as a model is fed
        it (an array, or arrays by input name)."""
        for start in range(0, len(self.x), size):
            rows = slice(start, start + size)
            yield feed(take(self.x, rows)), None if self.y is None else self.y[rows]


@dataclass(frozen=True)
class Dataset:
    """Train, validation and test splits, and everything needed to reproduce them.

    The splits hold the rows as the user gave them. ``training_steps`` is the preprocessing
    fitted (on the training split only) for a model thrifty trains on this data, which applies
    it in its first layers (``thrifty.models.preprocessing``): no other model sees it.
    """

    name: str
    task: Task
    train: Split
    val: Split
    test: Split
    source: str
    seed: int
    classes: tuple[str, ...] | None = None
    features: tuple[str, ...] | None = None
    training_steps: tuple[Step, ...] = field(default=())
    scoring: str | None = None  # the quality metric, when not the task's default

    @property
    def input_shape(self) -> tuple[int, ...] | None:
        """The shape of one sample, without the batch axis; None for samples of named inputs."""
        return sample_shape(self.train.x)

    @property
    def num_classes(self) -> int | None:
        return None if self.classes is None else len(self.classes)

    @property
    def metric(self) -> Metric:
        """The quality metric thrifty measures and keeps within budget: accuracy or RMSE unless
        set with :meth:`with_metric`."""
        return Metric(self.scoring or DEFAULT[self.task])

    def with_metric(self, spec: str | None) -> Dataset:
        """The same data, scored by ``spec`` (e.g. ``"recall:malignant"``, ``"auc"``, ``"mae"``;
        see ``thrifty.datasets.metrics``)."""
        if spec is None:
            return self
        return replace(self, scoring=parse(spec, self.task, self.classes).spec)

    @property
    def needs_reference(self) -> bool:
        """An ``embedding`` task whose targets, the original model's vectors, are not yet in."""
        return self.task == "embedding" and self.train.y is None

    def with_reference(self, outputs) -> Dataset:
        """The same rows with ``outputs(x)`` (the original model's vectors) as every split's
        targets: what the ``embedding`` metrics and distillation compare with."""
        parts = {
            name: replace(part, y=outputs(part.x))
            for name, part in (("train", self.train), ("val", self.val), ("test", self.test))
        }
        return replace(self, **parts)  # fmt: skip

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "task": self.task,
            "source": self.source,
            "seed": self.seed,
            "inputs": describe_samples(self.train.x),
            "classes": list(self.classes) if self.classes else None,
            "rows": {"train": len(self.train), "val": len(self.val), "test": len(self.test)},
            "metric": self.metric.spec,
        }
