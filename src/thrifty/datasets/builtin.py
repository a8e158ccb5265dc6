"""The data sets thrifty knows by name: Fashion-MNIST (Debian's package) and scikit-learn's own."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from thrifty.datasets.base import Dataset, Split
from thrifty.datasets.idx import read_idx
from thrifty.datasets.preprocess import Scale
from thrifty.datasets.rows import from_rows
from thrifty.datasets.split import hold_out
from thrifty.errors import DatasetNotInstalled

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
FASHION_MNIST_VAL_ROWS = 5000  # held out of the 60,000 training images; the 10,000 test stay test


def fashion_mnist(seed: int = 0) -> Dataset:
    """Zalando's Fashion-MNIST: 28x28 grey images of 10 kinds of clothing (60,000 + 10,000)."""
    folder = Path(os.environ.get("THRIFTY_FASHION_MNIST_DIR", FASHION_MNIST_DIR))
    names = [
        f"{part}-{kind}-ubyte.gz"
        for part in ("train", "t10k")
        for kind in ("images-idx3", "labels-idx1")
    ]
    missing = [str(folder / name) for name in names if not (folder / name).is_file()]
    if missing:
        raise DatasetNotInstalled(
            f"Fashion-MNIST is not installed (missing {missing[0]}): run "
            "`sudo apt-get install dataset-fashion-mnist`, or set THRIFTY_FASHION_MNIST_DIR to a "
            "folder holding its four IDX .gz files, or use --data digits"
        )

    def images(part: str) -> np.ndarray:
        pixels = read_idx(folder / f"{part}-images-idx3-ubyte.gz")[:, None, :, :]
        return pixels.astype(np.float32)  # 0..255, as the files hold them

    def labels(part: str) -> np.ndarray:
        return read_idx(folder / f"{part}-labels-idx1-ubyte.gz").astype(np.int64)

    (x_train, y_train), (x_val, y_val) = hold_out(
        images("train"), labels("train"), size=FASHION_MNIST_VAL_ROWS, seed=seed, stratify=True
    )
    return Dataset(
        name="fashion-mnist",
        task="classification",
        train=Split(x_train, y_train),
        val=Split(x_val, y_val),
        test=Split(images("t10k"), labels("t10k")),
        source=str(folder),
        seed=seed,
        classes=FASHION_MNIST_CLASSES,
        training_steps=(Scale(1 / 255),),
    )


def digits(seed: int = 0) -> Dataset:
    """scikit-learn's handwritten digits: 1,797 images of 8x8 pixels (values 0..16), flattened."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return from_rows(
        "digits",
        bunch.data.astype(np.float32),
        bunch.target.astype(np.int64),
        seed,
        source="sklearn.datasets.load_digits",
        classes=tuple(str(c) for c in bunch.target_names),
        steps=(Scale(1 / 16),),
    )


def breast_cancer(seed: int = 0) -> Dataset:
    """Wisconsin diagnostic breast cancer: 569 tumours, 30 measurements, malignant or benign."""
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    return from_rows(
        "breast-cancer",
        bunch.data.astype(np.float32),
        bunch.target.astype(np.int64),
        seed,
        source="sklearn.datasets.load_breast_cancer",
        classes=tuple(str(c) for c in bunch.target_names),
        features=tuple(str(f) for f in bunch.feature_names),
        standardize=True,
    )


BUILTIN: dict[str, Callable[[int], Dataset]] = {
    "fashion-mnist": fashion_mnist,
    "digits": digits,
    "breast-cancer": breast_cancer,
}
