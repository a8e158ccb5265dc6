"""Reading ONNX files safely: parsed, checked, and every external-data path kept in the folder.

ONNX has had five path-traversal CVEs in external data since 2022 (``../``, ``a/../../``,
absolute paths, symlinks, hard links). thrifty checks every reference itself before reading a
byte of external data, rather than trusting any one onnx release to.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath

from thrifty.errors import CorruptModel, UnsafeModel
from thrifty.models.model import Model, carried

MAX_ONNX_BYTES = 2**31  # protobuf's own limit; larger weights must live in external data


def load_onnx(path: Path) -> Model:
    """Parse, contain external data, then run the ONNX checker; each failure named."""
    import onnx
    from google.protobuf.message import DecodeError

    if path.stat().st_size >= MAX_ONNX_BYTES:
        raise CorruptModel(f"{path} is over 2 GiB; keep large weights in ONNX external data")
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except (DecodeError, ValueError, RuntimeError) as error:
        raise CorruptModel(
            f"{path} is not a valid ONNX file ({type(error).__name__}); re-export the model"
        ) from error
    folder = path.parent.resolve()
    for tensor in external_tensors(proto):
        check_location(tensor_location(tensor), folder, model=path)
    try:
        if any(True for _ in external_tensors(proto)):
            onnx.load_external_data_for_model(proto, str(folder))
    except (onnx.checker.ValidationError, OSError, ValueError) as error:
        raise CorruptModel(
            f"{path}: its external data does not load: {_first_line(error)}"
        ) from error
    return checked(proto, name=path.stem, source=str(path))


def checked(proto, *, name: str, source: str) -> Model:
    """A Model of an ONNX graph in memory, once the ONNX checker passes and it takes data."""
    import onnx

    try:
        onnx.checker.check_model(proto)
    except (onnx.checker.ValidationError, ValueError) as error:
        raise CorruptModel(f"{source} fails the ONNX checker: {_first_line(error)}") from error
    if not any(True for _ in _real_inputs(proto)):
        raise CorruptModel(f"{source} has no graph input; thrifty needs a model that takes data")
    return Model(proto=proto, name=name, source=source, metadata=carried(proto))


def external_tensors(proto):
    """Every tensor stored outside the file: initializers, and tensors in node attributes."""
    import onnx

    for graph in graphs(proto.graph):
        for tensor in graph.initializer:
            if tensor.data_location == onnx.TensorProto.EXTERNAL:
                yield tensor
        for node in graph.node:
            for attribute in node.attribute:
                for tensor in (attribute.t, *attribute.tensors):
                    if tensor.data_location == onnx.TensorProto.EXTERNAL:
                        yield tensor


def tensor_location(tensor) -> str:
    entries = {entry.key: entry.value for entry in tensor.external_data}
    return entries.get("location", "")


def check_location(location: str, folder: Path, *, model: Path) -> Path:
    """The resolved path of an external-data file, or UnsafeModel if it leaves ``folder``."""
    posix, windows = PurePosixPath(location), PureWindowsPath(location)
    if (
        not location
        or posix.is_absolute()
        or windows.is_absolute()
        or windows.drive
        or ".." in posix.parts
        or ".." in windows.parts
    ):
        raise UnsafeModel(
            f"{model} names external data {location!r} outside its folder; "
            "keep external data files beside the model, named without '..' or absolute paths"
        )
    target = Path(os.path.normpath(folder / location))
    resolved = target.resolve()
    if resolved != target:  # a symbolic link on the way, which could lead anywhere
        raise UnsafeModel(
            f"{model}: external data {location!r} is or passes through a symbolic link; "
            "copy the file into the model's folder instead"
        )
    if resolved.is_file() and os.stat(resolved).st_nlink > 1:
        raise UnsafeModel(
            f"{model}: external data {location!r} is a hard link, which can alias any file; "
            "copy the file into the folder instead"
        )
    return resolved


def graphs(graph):
    """A graph and every subgraph (If/Loop/Scan bodies) inside it."""
    yield graph
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("g"):
                yield from graphs(attribute.g)
            for sub in attribute.graphs:
                yield from graphs(sub)


def _real_inputs(proto):
    weights = {t.name for t in proto.graph.initializer}
    return (i for i in proto.graph.input if i.name not in weights)


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
