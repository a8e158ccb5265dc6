"""The .thrifty file: lossless, entropy-coded, safe to open (docs/FORMAT.md).

>>> import thrifty as th
>>> from torch import nn
>>> model = th.load(nn.Sequential(nn.Linear(64, 10)), input_shape=(64,))
>>> header = th.pack(model, "/tmp/doctest.thrifty")
>>> th.unpack("/tmp/doctest.thrifty").input_shape
(64,)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from thrifty.pack.inspect import Inspection, TensorRow, inspect
from thrifty.verbs import make_callable

__all__ = ["Inspection", "TensorRow", "inspect", "pack", "unpack"]


def pack(
    model: Any,
    path: str | Path,
    *,
    metadata: dict[str, Any] | None = None,
    input_shape: tuple[int, ...] | None = None,
) -> dict[str, Any]:
    """Write ``model`` (anything :func:`thrifty.load` takes) to ``path``; return its header."""
    from thrifty import __version__
    from thrifty.models import load
    from thrifty.pack.writer import write_pack

    model = load(model, input_shape=input_shape)
    info = {"creator": f"thrifty {__version__}", "model": model.name, **model.metadata}
    return write_pack(model.proto, path, {**info, **(metadata or {})})


def unpack(path: str | Path):
    """The model in a .thrifty file, as a :class:`thrifty.Model` with bit-identical weights."""
    from thrifty.models.model import Model
    from thrifty.pack.reader import read_pack

    packed = read_pack(path)
    metadata = dict(packed.header.get("metadata", {}))
    name = metadata.get("model") if isinstance(metadata.get("model"), str) else Path(path).stem
    metadata["packed_bytes"] = packed.file_bytes
    return Model(proto=packed.proto, name=name, source=str(path), metadata=metadata)


make_callable(__name__, pack)  # th.pack(model, path) calls pack(); see thrifty/verbs.py
