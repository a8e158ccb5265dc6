"""Shared fixtures: data sets are loaded once per session; trained baselines are cached."""

from __future__ import annotations

import pytest

import thrifty as th


@pytest.fixture(scope="session")
def digits():
    return th.datasets.load("digits")


@pytest.fixture(scope="session")
def fashion():
    return th.datasets.load("fashion-mnist")


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """Zoo baselines trained on Fashion-MNIST once per session, as thrifty train writes them."""
    cache: dict[str, tuple[dict, th.Model]] = {}

    def get(name: str):
        if name not in cache:
            path = tmp_path_factory.mktemp(name) / f"{name}.onnx"
            report = th.train_baseline(name, "fashion-mnist", path)
            cache[name] = (report, th.load(path))
        return cache[name]

    return get
