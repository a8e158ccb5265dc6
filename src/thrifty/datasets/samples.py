"""Samples as models take them: one array (the simple case), or several named inputs.

A model with one input takes an array with one row per sample. A transformer takes several
(``input_ids``, ``attention_mask``, ``token_type_ids``), of any dtype: those travel as
:class:`Named`, a mapping of input names to arrays with one row per sample each, or as a
ragged kind with the same methods (``Tokens``: token ids padded per batch). Whatever reads rows
(training, scoring, timing, calibration) goes through the functions here, so a split of any
kind runs through every command; a model binds the inputs it is fed by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from thrifty.errors import DataError

Feed = np.ndarray | dict[str, np.ndarray]  # what one call of a model is given


class Rows(Protocol):
    """Samples of several named inputs: ``Named``, or a ragged kind such as ``Tokens``."""

    names: tuple[str, ...]  # the inputs, as the model names them

    def __len__(self) -> int: ...
    def take(self, rows: np.ndarray | slice) -> Rows: ...
    def feed(self) -> dict[str, np.ndarray]: ...
    def sample_bytes(self) -> int: ...
    def digest(self, hasher) -> None: ...


@dataclass(frozen=True)
class Named:
    """Several named inputs, each an array with one row per sample (of any dtype and shape)."""

    arrays: dict[str, np.ndarray]

    def __post_init__(self) -> None:
        counts = {name: len(a) for name, a in self.arrays.items()}
        if not counts:
            raise DataError("samples need at least one input array")
        if len(set(counts.values())) > 1:
            raise DataError(f"the inputs have different numbers of rows: {counts}; they must match")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.arrays)

    def __len__(self) -> int:
        return len(next(iter(self.arrays.values())))

    def take(self, rows: np.ndarray | slice) -> Named:
        return Named({name: array[rows] for name, array in self.arrays.items()})

    def feed(self) -> dict[str, np.ndarray]:
        return {name: np.ascontiguousarray(array) for name, array in self.arrays.items()}

    def sample_bytes(self) -> int:
        return sum(array[:1].nbytes for array in self.arrays.values())

    def digest(self, hasher) -> None:
        for name, array in self.arrays.items():
            hasher.update(name.encode())
            hasher.update(memoryview(np.ascontiguousarray(array)).cast("B"))


Samples = np.ndarray | Rows


def take(x: Samples, rows: np.ndarray | slice) -> Samples:
    """The samples at ``rows`` (indices or a slice), of the same kind (an array or a tensor
    is indexed as it is)."""
    return x.take(rows) if is_named(x) else x[rows]


def batches(x: Samples, size: int):
    """``x`` in slices of at most ``size`` rows, in order."""
    for start in range(0, len(x), size):
        yield take(x, slice(start, start + size))


def run_in_length_order(run, x: Samples, size: int) -> np.ndarray:
    """``run`` (a batch -> its outputs as an array) over ``x`` in batches of ``size``, the
    outputs in the rows' order. Ragged token rows run shortest first, so that a batch pads to
    about its own rows' length (as sentence-transformers' ``encode`` does)."""
    lengths = getattr(x, "lengths", None)
    if lengths is None:
        return np.concatenate([run(part) for part in batches(x, size)])
    order = np.argsort(lengths, kind="stable")
    out = np.concatenate([run(part) for part in batches(take(x, order), size)])
    restored = np.empty_like(out)
    restored[order] = out
    return restored


def feed(x: Samples) -> Feed:
    """What one call of a model is given: the array (or tensor) itself, or its inputs by name
    (padded to the batch's longest row, for a ragged kind)."""
    return x.feed() if is_named(x) else x


def is_named(x: Any) -> bool:
    """Whether ``x`` is samples of named inputs (not one array or tensor)."""
    return hasattr(x, "feed") and hasattr(x, "names")


def sample_bytes(x: Samples) -> int:
    """Bytes of one sample as a request carries it (the first row; padded rows vary)."""
    return x[:1].nbytes if isinstance(x, np.ndarray) else x.sample_bytes()


def sample_shape(x: Samples) -> tuple[int, ...] | None:
    """The shape of one sample of a single array; None for named inputs (no one shape)."""
    return tuple(x.shape[1:]) if isinstance(x, np.ndarray) else None


def digest(hasher, x: Samples | None) -> None:
    """Feed ``x``'s bytes to ``hasher`` (a cache key of data)."""
    if x is None:
        return
    if isinstance(x, np.ndarray):
        hasher.update(memoryview(np.ascontiguousarray(x)).cast("B"))
    else:
        x.digest(hasher)


def repeated(x: Samples, size: int) -> Samples:
    """``size`` rows of real samples, the first ones repeated if there are fewer."""
    rows = np.arange(size) % len(x)
    return take(x, rows if len(x) < size else slice(0, size))


def describe(x: Any) -> dict[str, Any]:
    """The inputs' names, dtypes and per-sample shapes, for a data set's description."""
    arrays = {"x": x} if isinstance(x, np.ndarray) else getattr(x, "arrays", None)
    if arrays is None:
        return {"inputs": type(x).__name__}
    return {name: f"{a.dtype} {list(a.shape[1:])}" for name, a in arrays.items()}


def typical_length(x: Samples) -> int | None:
    """How long a sample is along a sequence axis, for counting what it costs: the mean
    tokens of a text (a ragged kind's ``lengths``), the second axis of named inputs; None for
    one array (its shape is fixed)."""
    if not is_named(x) or not len(x):
        return None
    lengths = getattr(x, "lengths", None)
    if lengths is not None:
        return max(1, round(float(np.mean(lengths))))
    first = next(iter(x.feed().values()))
    return first.shape[1] if first.ndim > 1 else None
