"""Data sets: bundled ones by name, users' own ``.npz``, ``.csv`` and ``.parquet`` files, and
arrays already in memory (``from_rows``).

>>> import thrifty as th
>>> data = th.datasets.load("digits")
>>> data.input_shape, len(data.train) > len(data.test)
((64,), True)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from thrifty.errors import UnknownDataset
from thrifty.lazy import lazy

if TYPE_CHECKING:
    from thrifty.datasets.base import Dataset, Split, Task
    from thrifty.datasets.rows import from_rows

__all__ = ["Dataset", "Split", "from_rows", "load", "names"]

# loaded on first use (PEP 562), so that the light modules here (metrics: how a quality
# reads) import without numpy's and scikit-learn's seconds
_LAZY = {"Dataset": "thrifty.datasets.base", "Split": "thrifty.datasets.base",
         "from_rows": "thrifty.datasets.rows"}  # fmt: skip
__getattr__ = lazy(__name__, _LAZY)


def names() -> list[str]:
    """The data sets thrifty knows by name."""
    from thrifty.datasets.builtin import BUILTIN

    return sorted(BUILTIN)


def load(
    name: str | Path,
    *,
    target: str | None = None,
    task: Task | None = None,
    seed: int = 0,
) -> Dataset:
    """Load a bundled data set by name, or a user's file, as seeded train/val/test splits.

    ``target`` names the column to predict in a ``.csv`` or ``.parquet`` file. ``task``
    (``"classification"`` or ``"regression"``) overrides what the targets' type suggests.
    """
    from thrifty.datasets.builtin import BUILTIN
    from thrifty.datasets.files import SUFFIXES, from_file

    key = str(name)
    if key in BUILTIN:
        return BUILTIN[key](seed)
    path = Path(key)
    if path.suffix.lower() in SUFFIXES:
        if not path.is_file():
            raise UnknownDataset(f"data file {path} does not exist; check the path")
        return from_file(path, target=target, task=task, seed=seed)
    raise UnknownDataset(
        f"unknown data {key!r}: give one of {', '.join(names())}, "
        f"or a file ending in {', '.join(SUFFIXES)}"
    )
