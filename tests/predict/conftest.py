"""The predict tests' model: a small classifier as an ONNX file, made once per session."""

from __future__ import annotations

import pytest
from predicted import FEATURES

import thrifty as th


@pytest.fixture(scope="session")
def model(tmp_path_factory):
    """16 features, 4 classes."""
    path = tmp_path_factory.mktemp("model") / "m.onnx"
    th.load(th.models.build("tabular-mlp", (FEATURES,), 4), input_shape=(FEATURES,)).save(path)
    return path
