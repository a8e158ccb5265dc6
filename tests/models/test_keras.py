"""Keras 3 ``.keras`` files: a plain model loads and exports faithfully; hostile ones are refused.

The hostile files are real ``.keras`` archives with ``config.json`` rewritten, as an attacker would.
"""

from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "torch"  # before Keras is first imported, here or anywhere

import json  # noqa: E402
import zipfile  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import thrifty  # noqa: E402
from thrifty.errors import CorruptModel, UnsafeModel  # noqa: E402


def small_cnn() -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> tuple[keras.Model, Path]:
    network = small_cnn()
    path = tmp_path_factory.mktemp("keras") / "cnn.keras"
    network.save(path)
    return network, path


def rewrite_config(source: Path, target: Path, change: Callable[[dict], None]) -> Path:
    """Copy the archive ``source`` to ``target`` with ``change`` applied to its config.json."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for info in original.infolist():
            data = original.read(info)
            if info.filename == "config.json":
                config = json.loads(data)
                change(config)
                data = json.dumps(config).encode()
            copy.writestr(info, data)
    return target


def layer(config: dict, class_name: str) -> dict:
    return next(node for node in config["config"]["layers"] if node["class_name"] == class_name)


# --- a plain model -------------------------------------------------------------------------------


def test_keras_model_loads_with_its_input_shape(saved):
    _, path = saved
    model = thrifty.load(path)
    assert (model.name, model.input_shape) == ("cnn", (8, 8, 1))


def test_exported_onnx_matches_keras_predict(saved):
    network, path = saved
    x = np.random.default_rng(0).random((16, 8, 8, 1), dtype=np.float32)
    onnx_scores = thrifty.open_session(thrifty.load(path)).run(x)
    np.testing.assert_allclose(onnx_scores, network.predict(x, verbose=0), atol=1e-5)


def test_compiled_model_with_a_builtin_loss_function_loads(tmp_path):
    """Keras writes the loss as module "builtins"; compile=False means it is never read."""
    network = small_cnn()
    network.compile(optimizer="adam", loss=keras.losses.sparse_categorical_crossentropy)
    path = tmp_path / "compiled.keras"
    network.save(path)
    assert thrifty.load(path).input_shape == (8, 8, 1)


# --- hostile configs -----------------------------------------------------------------------------


def test_saved_lambda_layer_is_unsafe(tmp_path):
    network = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda x: x * 2)])
    path = tmp_path / "lambda.keras"
    network.save(path)
    with pytest.raises(UnsafeModel, match="Lambda"):
        thrifty.load(path)


def _lambda_layer(config: dict) -> None:
    flatten = layer(config, "Flatten")
    flatten["class_name"] = "Lambda"
    flatten["config"]["function"] = {"class_name": "__lambda__", "config": {"code": "AAAA"}}


def _lambda_activation(config: dict) -> None:
    layer(config, "Dense")["config"]["activation"] = {
        "class_name": "__lambda__",
        "config": {"code": "AAAA", "defaults": None, "closure": None},
    }


def _module(name: str, class_name: str) -> Callable[[dict], None]:
    def change(config: dict) -> None:
        layer(config, "Conv2D")["config"]["kernel_initializer"] = {
            "module": name,
            "class_name": class_name,
            "config": {},
            "registered_name": None,
        }

    return change


def _unsafe_switch(config: dict) -> None:
    """The known bypass: a config that calls keras.config.enable_unsafe_deserialization."""
    layer(config, "Dense")["config"]["activation"] = {
        "module": "keras.config",
        "class_name": "function",
        "config": "enable_unsafe_deserialization",
    }


def _registered(config: dict) -> None:
    dense = layer(config, "Dense")
    dense["class_name"] = "Evil"
    dense["registered_name"] = "mypkg>Evil"


def _registered_under_keras_class(config: dict) -> None:
    layer(config, "Dense")["registered_name"] = "mypkg>Evil"


HOSTILE = {
    "lambda-layer": _lambda_layer,
    "lambda-activation": _lambda_activation,
    "module-os": _module("os", "system"),
    "module-subprocess": _module("subprocess", "Popen"),
    "module-builtins": _module("builtins", "exec"),
    "module-keras-lookalike": _module("keras_evil.layers", "Dense"),
    "keras-function-switching-safe-mode-off": _unsafe_switch,
    "custom-registered-object": _registered,
    "custom-name-on-keras-class": _registered_under_keras_class,
}


@pytest.mark.parametrize("change", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_config_is_unsafe(saved, tmp_path, change):
    path = rewrite_config(saved[1], tmp_path / "hostile.keras", change)
    with pytest.raises(UnsafeModel):
        thrifty.load(path)


def test_rewriting_alone_keeps_a_model_loadable(saved, tmp_path):
    """The rewrite itself is harmless, so the refusals above are about the changes."""
    path = rewrite_config(saved[1], tmp_path / "same.keras", lambda config: None)
    assert thrifty.load(path).input_shape == (8, 8, 1)


# --- corrupt archives ----------------------------------------------------------------------------


def test_keras_file_that_is_not_a_zip_is_corrupt(tmp_path):
    path = tmp_path / "model.keras"
    path.write_bytes(b"not a zip at all\n" * 8)
    with pytest.raises(CorruptModel):
        thrifty.load(path)


def test_keras_zip_without_a_config_is_corrupt(saved, tmp_path):
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(saved[1]) as original, zipfile.ZipFile(path, "w") as copy:
        copy.writestr("model.weights.h5", original.read("model.weights.h5"))
    with pytest.raises(CorruptModel, match="config.json"):
        thrifty.load(path)


def test_keras_zip_with_broken_central_directory_is_corrupt(saved, tmp_path):
    path = tmp_path / "model.keras"
    path.write_bytes(saved[1].read_bytes().replace(b"PK\x01\x02", b"XXXX"))
    with pytest.raises(CorruptModel):
        thrifty.load(path)
