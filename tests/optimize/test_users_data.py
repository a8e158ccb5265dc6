"""A model trained outside thrifty on rows nobody standardized, given with those rows: the file
thrifty returns scores what its report says, and keeps the quality budget on the user's own
held-out rows, in plain ONNX Runtime (the rule: measure what ships, on the data as given)."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch
from sklearn.datasets import load_digits

import thrifty as th

pytestmark = [pytest.mark.timeout(600), pytest.mark.usefixtures("small_search")]
MAX_DROP = 2.0  # accuracy points
KEPT_BACK = 300  # rows thrifty never sees


def users_model(x: np.ndarray, y: np.ndarray, path) -> None:
    """What a user brings: an MLP trained in plain PyTorch on raw pixels (0..16), as ONNX."""
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    optimizer = torch.optim.Adam(module.parameters(), lr=3e-3)
    inputs, labels = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(300):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(module(inputs), labels).backward()
        optimizer.step()
    torch.onnx.export(
        module.eval(), (inputs[:2],), path, dynamo=False, input_names=["pixels"],
        output_names=["logits"], dynamic_axes={"pixels": {0: "n"}, "logits": {0: "n"}},
    )  # fmt: skip


def accuracy(path, x: np.ndarray, y: np.ndarray) -> float:
    """The share of rows a model file gets right, in ONNX Runtime and nothing of thrifty's."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return float((session.run(None, {name: x})[0].argmax(axis=1) == y).mean())


def test_the_returned_model_keeps_its_quality_on_the_users_own_rows(tmp_path):
    digits = load_digits()
    x, y = digits.data.astype(np.float32), digits.target.astype(np.int64)
    order = np.random.default_rng(1).permutation(len(x))
    given, unseen = order[:-KEPT_BACK], order[-KEPT_BACK:]
    np.savez(tmp_path / "rows.npz", x=x[given], y=y[given])
    users_model(x[given], y[given], tmp_path / "users.onnx")

    found = th.optimize(
        tmp_path / "users.onnx", tmp_path / "rows.npz", max_drop=MAX_DROP, time_budget=120,
        out=tmp_path / "out",
    )  # fmt: skip

    split = th.datasets.load(tmp_path / "rows.npz").test  # thrifty's test split
    assert {tuple(row) for row in split.x} <= {tuple(row) for row in x[given]}  # as given
    assert found.baseline.test == pytest.approx(accuracy(tmp_path / "users.onnx", split.x, split.y))
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    shipped = tmp_path / "out" / "model.onnx"
    assert report["best"]["test"] == pytest.approx(accuracy(shipped, split.x, split.y))
    assert report["about"]["data"]["preprocessing"] == []
    assert report["about"]["model"]["preprocessing"] == []
    original = accuracy(tmp_path / "users.onnx", x[unseen], y[unseen])
    returned = accuracy(shipped, x[unseen], y[unseen])
    assert original > 0.9  # the user's model, fed the user's rows, is a good one
    # on rows it never saw, within the budget (and a little noise: 1.5 points is 4.5 rows)
    assert (original - returned) * 100 <= MAX_DROP + 1.5
