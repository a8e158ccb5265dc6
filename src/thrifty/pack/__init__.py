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
    """Write ``model`` to ``path``; return its header. ``model`` is a :class:`thrifty.Model` or
    anything :func:`thrifty.models.load` takes (a .thrifty file is packed already)."""
    from thrifty.models import load
    from thrifty.pack.writer import write_pack
    from thrifty.paths import writable_file
    from thrifty.version import __version__

    writable_file(path)
    model = load(model, input_shape=input_shape)
    info = {"creator": f"thrifty {__version__}", "model": model.name, **model.metadata}
    return write_pack(model.proto, path, {**info, **(metadata or {})})


def unpack(path: str | Path, *, to: str = "onnx"):
    """The model in a .thrifty file, with bit-identical weights.

    ``to="onnx"`` gives a :class:`thrifty.Model` (its ONNX graph); ``to="torch"`` a
    ``torch.nn.Module`` whose parameters are those weights, ready for fine-tuning.
    """
    from thrifty.errors import ModelError
    from thrifty.models.model import Model
    from thrifty.pack.reader import read_pack

    if to not in ("onnx", "torch"):
        raise ModelError(f"unpack to {to!r}: choose 'onnx' or 'torch'")
    packed = read_pack(path)
    metadata = dict(packed.header.get("metadata", {}))
    name = metadata.get("model") if isinstance(metadata.get("model"), str) else Path(path).stem
    metadata["packed_bytes"] = packed.file_bytes
    model = Model(proto=packed.proto, name=name, source=str(path), metadata=metadata)
    if to == "torch":
        from thrifty.models.onnx_torch import to_torch

        return to_torch(model)
    return model


make_callable(__name__, pack)  # th.pack(model, path) calls pack(); see thrifty/verbs.py
