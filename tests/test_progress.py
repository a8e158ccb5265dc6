"""Progress shows off a terminal too (plain lines on stderr, a few seconds apart), and the
training bar ends full, saying why training stopped."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest

import thrifty as th
from thrifty import progress
from thrifty.models import training
from thrifty.predict.job import _bar as predict_bar
from thrifty.ship.progress import tally


@pytest.fixture(autouse=True)
def off_a_terminal(monkeypatch):
    monkeypatch.setattr(progress, "on_terminal", lambda: False)


@pytest.fixture
def clock(monkeypatch):
    """A clock the test moves by hand."""
    now = SimpleNamespace(t=1000.0)
    monkeypatch.setattr(progress.time, "monotonic", lambda: now.t)
    return now


def test_lines_come_at_most_every_few_seconds_and_at_each_step_end(clock, capsys):
    lines = progress.Lines(every=5)
    for text, later in [("a", 0), ("b", 2), ("c", 4), ("d", 0), ("e", 1)]:
        clock.t += later
        lines.say(text, done=text == "e")
    assert capsys.readouterr().err.split() == ["a", "c", "e"]
    assert lines.seconds == 7


def test_training_off_a_terminal_says_each_epoch_and_the_end(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "thrifty.cli", "train", "tabular-mlp", "--data", "digits",
         "--epochs", "3", "-o", "x.onnx"],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    said = done.stderr.splitlines()
    assert said[0].startswith("training tabular-mlp: epoch 1/3, val accuracy ")
    assert said[-1].startswith("training tabular-mlp: done: 3 epochs; kept epoch ")
    assert done.stdout.startswith("wrote x.onnx: tabular-mlp on digits, test accuracy ")
    assert done.stdout.strip().endswith("s)") and "%" in done.stdout


def test_the_training_bar_ends_full_when_early_stopping_ends_it(monkeypatch, digits):
    bars = []

    class Recorded(training._bar):
        def __enter__(self):
            bars.append(self)
            return super().__enter__()

    monkeypatch.setattr(progress, "on_terminal", lambda: True)
    monkeypatch.setattr(training, "_bar", Recorded)
    module = th.models.build(
        "tabular-mlp", digits.input_shape, digits.num_classes, steps=digits.training_steps
    )
    config = th.models.TrainConfig(epochs=50, patience=1, learning_rate=0.3)
    result = th.models.train(module, digits, config, progress=True)
    (task,) = bars[0].progress.tasks
    assert result.epochs < 50 and task.total == task.completed == result.epochs
    assert task.description.startswith(f"stopped early at epoch {result.epochs}: no better ")


def test_transfers_and_predictions_say_how_far_they_are(clock, capsys):
    with tally("push m.thrifty", 3000, True) as count:
        count.add(moved=1000)
        clock.t += 1
        count.add(saved=2000)
    with predict_bar(3000, True) as advance:
        advance(1000)
        clock.t += 6
        advance(1000)
        advance(1000)
    assert capsys.readouterr().err.splitlines() == [
        "push m.thrifty: 1,000 B of 2.9 KiB, saved 0 B, 0 s",
        "push m.thrifty: 2.9 KiB of 2.9 KiB, saved 2.0 KiB, 1 s",
        "predict: 1,000 of 3,000 rows, 0 s",
        "predict: 2,000 of 3,000 rows, 6 s",
        "predict: 3,000 of 3,000 rows, 6 s",
    ]


def test_a_step_without_a_bar_says_when_it_is_done(clock, capsys):
    with progress.status("measuring"):
        clock.t += 3
    with progress.status("measuring", quiet=True):
        pass
    say = progress.measured(150)
    clock.t += 10
    say(SimpleNamespace(trial=SimpleNamespace(recipe="channels:0.5", epochs=2), seconds=9.6))
    say(SimpleNamespace(trial=SimpleNamespace(recipe="", epochs=0), seconds=1))
    assert capsys.readouterr().err.splitlines() == [
        "measuring: done in 3 s",
        "optimize: measured channels:0.5 (2 epochs) in 10 s; 10 s of 150 s used",
        "optimize: measured the model as it is in 1 s; 10 s of 150 s used",
    ]
