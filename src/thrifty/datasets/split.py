"""Seeded, reproducible train / validation / test splits."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split

from thrifty.datasets.samples import Samples, take
from thrifty.errors import DataError

VAL_FRACTION = 0.15
TEST_FRACTION = 0.2


def three_way(x: Samples, y: np.ndarray, *, seed: int, stratify: bool):
    """Split rows into train / val / test (65% / 15% / 20%), stratified for classification;
    ``x`` is an array or named inputs, split by the same rows."""
    if len(x) < 10:
        raise DataError(
            f"data has {len(x)} rows; thrifty needs at least 10 to split train/val/test"
        )
    labels = y if stratify and _stratifiable(y) else None
    rest, test = train_test_split(
        np.arange(len(y)), test_size=TEST_FRACTION, random_state=seed, stratify=labels
    )
    train, val = train_test_split(
        rest,
        test_size=VAL_FRACTION / (1 - TEST_FRACTION),
        random_state=seed,
        stratify=y[rest] if labels is not None else None,
    )
    return tuple((take(x, rows), y[rows]) for rows in (train, val, test))


def hold_out(x: np.ndarray, y: np.ndarray, *, size: int, seed: int, stratify: bool):
    """Split a data set's own training part into train and validation (its test set is kept)."""
    labels = y if stratify and _stratifiable(y) else None
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=size, random_state=seed, stratify=labels
    )
    return (x_train, y_train), (x_val, y_val)


def _stratifiable(y: np.ndarray) -> bool:
    """Stratification needs at least two rows of every class."""
    _, counts = np.unique(y, return_counts=True)
    return bool(counts.min() >= 2)
