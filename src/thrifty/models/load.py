"""``load``: a model in any format others write (``thrifty.load`` opens .thrifty files too)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from thrifty.errors import ModelError, PickleRefused, UnknownModelFormat
from thrifty.models.model import Model
from thrifty.paths import existing_file

PICKLE_SUFFIXES = {".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin", ".joblib"}
TO_ONNX = (
    "export it to ONNX instead: torch.onnx.export(model, example_input, 'model.onnx'), "
    "or pass the torch.nn.Module to thrifty.load in Python"
)


def load(source: Any, *, input_shape: tuple[int, ...] | None = None, name: str | None = None):
    """Load a model from an ``.onnx`` or ``.keras`` file, a Hugging Face model folder
    (``config.json``, ``model.safetensors``, ``tokenizer.json``), a ``torch.nn.Module`` or an
    ``onnx.ModelProto``: the formats others write. :func:`thrifty.load` opens these and
    thrifty's own ``.thrifty`` files.

    A module needs ``input_shape``, the shape of one sample, to be exported. Pickled files
    (``.pt``, ``.pth``, ``.pkl``) are refused: opening one can run arbitrary code.
    """
    if isinstance(source, Model):
        return source
    if type(source).__name__ == "ModelProto":  # onnx's, without importing onnx for every load
        from thrifty.models.onnx_file import checked

        return checked(source, name=name or source.graph.name, source="an ONNX ModelProto")
    if _is_module(source):
        if input_shape is None:
            raise ModelError("loading a torch module needs input_shape=, the shape of one sample")
        from thrifty.models.export import from_module

        return from_module(source, tuple(input_shape), name=name or type(source).__name__)
    if isinstance(source, str | Path) and Path(source).is_dir():
        from thrifty.models.huggingface import load_folder

        return load_folder(Path(source), name=name)
    path = existing_file(source)
    suffix = path.suffix.lower()
    if suffix in PICKLE_SUFFIXES or _looks_pickled(path):
        raise PickleRefused(f"{path} is a pickle, which can run code when opened; {TO_ONNX}")
    if suffix == ".onnx":
        from thrifty.models.onnx_file import load_onnx

        return load_onnx(path)
    if suffix == ".thrifty":  # pack reads its own files, and pack imports models
        raise UnknownModelFormat(f"{path} is a packed model: open it with thrifty.load")
    if suffix == ".keras":
        from thrifty.models.keras_file import load_keras

        return load_keras(path)
    raise UnknownModelFormat(
        f"{path}: thrifty reads .onnx, .keras and .thrifty model files; {TO_ONNX}"
    )


def _is_module(source: Any) -> bool:
    import sys

    torch = sys.modules.get("torch")  # a module can only exist if torch is already imported
    return torch is not None and isinstance(source, torch.nn.Module)


def _looks_pickled(path: Path) -> bool:
    """A pickle whatever its name: protocol 2+ starts with 0x80; torch.save writes a zip of one."""
    import zipfile

    with path.open("rb") as handle:
        head = handle.read(2)
    if head[:1] == b"\x80" and head[1:2] in {bytes([v]) for v in range(2, 6)}:
        return True
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                return any(n.endswith(".pkl") for n in archive.namelist())
        except zipfile.BadZipFile:
            return False  # a damaged zip: the loader for its suffix refuses it as corrupt
    return False
