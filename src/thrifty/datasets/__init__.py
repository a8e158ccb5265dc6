"""Data sets: bundled ones by name, users' own ``.npz``, ``.csv`` and ``.parquet`` files, and
arrays already in memory (``from_rows``).

>>> import thrifty as th
>>> data = th.datasets.load("digits")
>>> data.input_shape, len(data.train) > len(data.test)
((64,), True)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    from thrifty.datasets.text import TEXTS

    return sorted([*BUILTIN, *TEXTS])


def load(
    name: str | Path,
    *,
    target: str | None = None,
    text: str | None = None,
    task: Task | None = None,
    seed: int = 0,
    model: Any = None,
) -> Dataset:
    """Load a bundled data set by name, or a user's file, as seeded train/val/test splits.

    ``target`` names the column to predict in a ``.csv`` or ``.parquet`` file, ``text`` its
    column of texts. ``task`` (``"classification"``, ``"regression"`` or ``"embedding"``)
    overrides what the targets' type suggests. Texts (a ``.txt``, one a line; a table's
    ``text`` column; ``wordnet-glosses``) become ``model``'s token ids, with its tokenizer; for
    a model whose output is an embedding (a sentence encoder) the task is ``embedding``.
    """
    from thrifty.datasets.builtin import BUILTIN
    from thrifty.datasets.files import SUFFIXES, from_file
    from thrifty.datasets.text import TEXTS, as_labels, from_texts, read_texts

    key = str(name)
    path = Path(key)
    textual = key in TEXTS or path.suffix.lower() == ".txt" or text is not None
    if textual:
        encoding = getattr(model, "text_encoding", None)
        task = task or getattr(model, "task", None)
        if key in TEXTS:
            read, source = TEXTS[key](), key
        elif not path.is_file():
            raise UnknownDataset(f"data file {path} does not exist; check the path")
        else:
            read, source = read_texts(path, text=text, target=target), str(path)
        read = as_labels(read, getattr(model, "labels", None), source)
        return from_texts(path.stem, read, encoding=encoding, task=task, seed=seed, source=source)
    if key in BUILTIN:
        return BUILTIN[key](seed)
    if path.suffix.lower() in SUFFIXES:
        if not path.is_file():
            raise UnknownDataset(f"data file {path} does not exist; check the path")
        return from_file(path, target=target, task=task, seed=seed)
    raise UnknownDataset(
        f"unknown data {key!r}: give one of {', '.join(names())}, "
        f"or a file ending in {', '.join((*SUFFIXES, '.txt'))}"
    )
