"""Reading ``.keras`` files with Keras 3 on its PyTorch backend, refusing anything that runs code.

Keras' own ``safe_mode`` has been bypassed by configs that import modules or re-enable unsafe
loading, so thrifty first reads ``config.json`` itself and refuses Lambda layers, custom
registered objects and any module outside ``keras``; only then does Keras (safe mode on) load it.

The network is exported to ONNX at once, and that graph is the model (its torch module, for
fine-tuning and pruning, is read back from it): Keras' layers call torch's functions directly,
so Torch-Pruning finds no ``Conv2d`` or ``Linear`` in Keras' own module to shrink.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from thrifty.errors import CorruptModel, RuntimeUnavailable, UnsafeModel
from thrifty.models.export import from_module
from thrifty.models.model import Model

MAX_CONFIG_BYTES = 16 * 2**20
# "__lambda__" is how Keras stores a bare Python lambda (marshalled bytecode) anywhere in a config
CODE_LAYERS = {"Lambda", "TFOpLambda", "TorchModuleWrapper", "__lambda__"}
# A "function" node names a Python function to call; only Keras' own math may be named
FUNCTION_MODULES = {"keras.activations", "keras.losses", "keras.metrics"}


def load_keras(path: Path) -> Model:
    config = read_config(path)
    if isinstance(config, dict):  # compile=False below: Keras drops this key unread, and so do we
        config = {key: value for key, value in config.items() if key != "compile_config"}
    check_config(config, path)
    keras = _keras()
    try:
        network = keras.saving.load_model(str(path), safe_mode=True, compile=False)
    except Exception as error:  # Keras raises many types for a bad file; all mean the same here
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CorruptModel(f"{path} could not be loaded by Keras: {first}") from error
    input_shape = tuple(network.input_shape[1:])
    if None in input_shape:
        raise CorruptModel(f"{path}: the model's input shape {input_shape} must be fixed")
    exported = from_module(network, input_shape, name=path.stem, source=str(path))
    return replace(exported, module=None)


def read_config(path: Path) -> Any:
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("config.json")
            if info.file_size > MAX_CONFIG_BYTES:
                raise CorruptModel(f"{path}: config.json is over {MAX_CONFIG_BYTES} bytes")
            return json.loads(archive.read(info))
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise CorruptModel(
            f"{path} is not a Keras 3 .keras archive with a config.json ({error}); "
            "save it with model.save('model.keras')"
        ) from error


def check_config(node: Any, path: Path) -> None:
    """Walk the whole config and refuse anything that would import or run code."""
    if isinstance(node, list):
        for item in node:
            check_config(item, path)
        return
    if not isinstance(node, dict):
        return
    if node.get("class_name") in CODE_LAYERS:
        raise UnsafeModel(
            f"{path} contains a {node['class_name']} layer, which runs stored Python code; "
            "replace it with built-in layers, or export the model to ONNX"
        )
    module = node.get("module")
    if node.get("class_name") == "function" and module not in FUNCTION_MODULES:
        raise UnsafeModel(
            f"{path} asks to call function {node.get('config')!r} from {module!r}; "
            "thrifty loads only Keras' own layers, activations and losses"
        )
    if isinstance(module, str) and module.split(".")[0] != "keras":
        raise UnsafeModel(
            f"{path} asks to import module {module!r}; thrifty loads only Keras' own layers"
        )
    if node.get("registered_name") not in (None, node.get("class_name")):
        raise UnsafeModel(
            f"{path} uses custom object {node['registered_name']!r}, which needs its code; "
            "export the model to ONNX instead"
        )
    for value in node.values():
        check_config(value, path)


def _keras():
    """Keras on its PyTorch backend (so no TensorFlow is needed)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    if keras.backend.backend() != "torch":
        raise RuntimeUnavailable(
            f"Keras is running on {keras.backend.backend()!r}; thrifty needs KERAS_BACKEND=torch "
            "set before Keras is first imported"
        )
    return keras
