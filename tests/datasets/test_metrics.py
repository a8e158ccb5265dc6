"""Quality metrics by name: checked against scikit-learn on hand-made outputs, refused with a
clear error where they do not fit, and used end to end by profile and optimize."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn import metrics as sk

import thrifty as th
from thrifty.datasets.metrics import Metric, parse, score
from thrifty.errors import DataError, DataMismatch

CLASSES = ("malignant", "benign")
rng = np.random.default_rng(0)
Y = rng.integers(0, 2, 200)
SCORES = rng.normal(size=(200, 2)) + np.eye(2)[Y]  # informative, not perfect
LABELS = SCORES.argmax(1)


def test_shares_against_scikit_learn():
    assert score(Metric("accuracy"), SCORES, Y, CLASSES) == pytest.approx(np.mean(LABELS == Y))
    assert score(Metric("recall:malignant"), SCORES, Y, CLASSES) == pytest.approx(
        sk.recall_score(Y, LABELS, pos_label=0)
    )
    assert score(Metric("precision:1"), SCORES, Y, CLASSES) == pytest.approx(
        sk.precision_score(Y, LABELS, pos_label=1)
    )
    assert score(Metric("f1"), SCORES, Y, CLASSES) == pytest.approx(sk.f1_score(Y, LABELS))
    softmax = np.exp(SCORES) / np.exp(SCORES).sum(1, keepdims=True)
    assert score(Metric("auc"), SCORES, Y, CLASSES) == pytest.approx(
        sk.roc_auc_score(Y, softmax[:, 1])
    )
    assert score(Metric("auc"), softmax[:, 1:], Y, 2) == pytest.approx(
        sk.roc_auc_score(Y, softmax[:, 1])
    )


def test_many_classes():
    y = np.arange(300) % 3
    out = rng.normal(size=(300, 3)) + 2 * np.eye(3)[y]
    assert score(Metric("f1"), out, y, 3) == pytest.approx(
        sk.f1_score(y, out.argmax(1), average="macro")
    )
    p = np.exp(out) / np.exp(out).sum(1, keepdims=True)
    assert score(Metric("auc"), out, y, 3) == pytest.approx(
        sk.roc_auc_score(y, p, multi_class="ovr")
    )


def test_errors_and_drops():
    y = np.array([1.0, 2.0, 4.0])
    out = np.array([[1.5], [2.0], [3.0]])
    assert score(Metric("mae"), out, y, None) == pytest.approx(0.5)
    assert score(Metric("rmse"), out, y, None) == pytest.approx(np.sqrt(1.25 / 3))
    assert Metric("mae").drop(0.5, 0.7) == pytest.approx(0.2)  # units, lower is better
    assert Metric("recall:1").drop(0.95, 0.94) == pytest.approx(1.0)  # points
    assert Metric("auc").drop(0.90, 0.91) == pytest.approx(-1.0)  # a gain is a negative drop


def test_one_sided_metrics_are_steered_by_f1():
    every_row_malignant = np.tile([1.0, 0.0], (len(Y), 1))
    recall = Metric("recall:malignant")
    assert score(recall, every_row_malignant, Y, CLASSES) == 1.0  # degenerate, yet perfect
    assert recall.steering == Metric("f1:malignant")
    assert score(recall.steering, every_row_malignant, Y, CLASSES) < 0.7
    assert Metric("auc").steering == Metric("auc")


@pytest.mark.parametrize(
    ("spec", "task", "words"),
    [
        ("top5", "classification", "unknown metric"),
        ("mae", "classification", "is for regression"),
        ("auc", "regression", "is for classification"),
        ("recall", "classification", "needs a class"),
        ("recall:ovarian", "classification", "no class 'ovarian'"),
        ("accuracy:1", "classification", "takes no class"),
    ],
)
def test_specs_that_do_not_fit_are_refused(spec, task, words):
    with pytest.raises(DataError, match=words):
        parse(spec, task, CLASSES)


def test_auc_needs_scores():
    with pytest.raises(DataMismatch, match="needs scores"):
        score(Metric("auc"), LABELS, Y, CLASSES)


def test_profile_and_training_use_the_metric():
    data = th.datasets.load("breast-cancer")
    module = th.models.build("tabular-mlp", data.input_shape, 2, steps=data.training_steps)
    th.models.train(module, data.with_metric("recall:malignant"), th.models.TrainConfig(epochs=3))
    cost = th.profile(module, data, metric="recall:malignant", timing_budget_s=0.01)
    assert cost.quality.metric == "recall:malignant"
    with torch.inference_mode():
        labels = module(torch.from_numpy(data.test.x)).argmax(1).numpy()
    malignant = data.test.y == 0
    assert cost.quality.value == pytest.approx(np.mean(labels[malignant] == 0), abs=1e-6)
    assert data.with_metric("auc").describe()["metric"] == "auc"
