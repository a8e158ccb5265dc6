"""Turn plain rows (``x``, ``y``) into a Dataset: split, then fit preprocessing on train only."""

from __future__ import annotations

import numpy as np

from thrifty.datasets.base import Dataset, Split, Task
from thrifty.datasets.preprocess import Standardize, Step
from thrifty.datasets.split import three_way


def from_rows(
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    seed: int,
    *,
    source: str,
    task: Task = "classification",
    classes: tuple[str, ...] | None = None,
    features: tuple[str, ...] | None = None,
    steps: tuple[Step, ...] = (),
    standardize: bool = False,
) -> Dataset:
    """Split rows 65/15/20 (stratified for classification) and, if asked, standardize them."""
    train, val, test = three_way(x, y, seed=seed, stratify=task == "classification")
    if standardize:
        step = Standardize.fit(train[0])
        steps = (*steps, step)
        train, val, test = ((step.apply(a), b) for a, b in (train, val, test))
    return Dataset(
        name=name,
        task=task,
        train=Split(*train),
        val=Split(*val),
        test=Split(*test),
        source=source,
        seed=seed,
        classes=classes,
        features=features,
        preprocessing=steps,
    )
