"""Seeded, reproducible train / validation / test splits."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split

from thrifty.errors import DataError

VAL_FRACTION = 0.15
TEST_FRACTION = 0.2


def three_way(x: np.ndarray, y: np.ndarray, *, seed: int, stratify: bool):
    """Split rows into train / val / test (65% / 15% / 20%), stratified for classification."""
    if len(x) < 10:
        raise DataError(
            f"data has {len(x)} rows; thrifty needs at least 10 to split train/val/test"
        )
    labels = y if stratify and _stratifiable(y) else None
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=TEST_FRACTION, random_state=seed, stratify=labels
    )
    rest_labels = y_rest if labels is not None else None
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest,
        y_rest,
        test_size=VAL_FRACTION / (1 - TEST_FRACTION),
        random_state=seed,
        stratify=rest_labels,
    )
    return (x_train, y_train), (x_val, y_val), (x_test, y_test)


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
