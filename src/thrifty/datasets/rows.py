"""Turn plain rows (``x``, ``y``) into a Dataset: split them, and fit on the training split what
a model thrifty trains on them should apply first."""

from __future__ import annotations

import numpy as np

from thrifty.datasets.base import Dataset, Split, Task
from thrifty.datasets.preprocess import Standardize, Step
from thrifty.datasets.samples import Samples
from thrifty.datasets.split import three_way


def from_rows(
    name: str,
    x: Samples,
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
    """Split rows 65/15/20 (stratified for classification), keeping them as given.

    ``steps`` (and with ``standardize``, a :class:`Standardize` fitted on the training split) are
    what a model thrifty trains on these rows applies in its first layers.
    """
    train, val, test = three_way(x, y, seed=seed, stratify=task == "classification")
    if standardize and isinstance(x, np.ndarray):
        steps = (*steps, Standardize.fit(train[0]))
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
        training_steps=steps,
    )
