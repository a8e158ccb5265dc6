"""``load``: one entry point for every model a user brings, thrifty's own .thrifty files too.

It sits above ``models``, which reads the formats others write, and ``pack``, which reads
.thrifty files into a :class:`thrifty.Model` and so imports ``models``: were ``models`` to open
.thrifty files itself, the two would import each other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from thrifty import models


def load(source: Any, *, input_shape: tuple[int, ...] | None = None, name: str | None = None):
    """Load a model from an ``.onnx``, ``.keras`` or ``.thrifty`` file, a Hugging Face model
    folder (``config.json``, ``model.safetensors``, ``tokenizer.json``), a ``torch.nn.Module``
    or an ``onnx.ModelProto``.

    A module needs ``input_shape``, the shape of one sample, to be exported. Pickled files
    (``.pt``, ``.pth``, ``.pkl``) are refused: opening one can run arbitrary code.

    >>> import thrifty as th
    >>> from torch import nn
    >>> model = th.load(nn.Sequential(nn.Linear(4, 2)), input_shape=(4,))
    >>> model.input_shape
    (4,)
    """
    if isinstance(source, str | Path) and Path(source).suffix.lower() == ".thrifty":
        from thrifty.pack import unpack

        return unpack(source)
    return models.load(source, input_shape=input_shape, name=name)
