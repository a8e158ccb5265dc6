"""Trials made anywhere: in local worker processes and on a real two-node Ray cluster, a search
tries the same trials and picks the same best recipe as one made in this process. The search
is kept small (structured pruning and int8, no sensitivity scan) and chooses by size, which
timing noise cannot tip."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

import thrifty as th
from ray_cluster import two_nodes
from thrifty.compress import Recipe
from thrifty.compress.registry import TECHNIQUES
from thrifty.errors import DataError
from thrifty.optimize.rung import _waves
from thrifty.optimize.trial import Trial

pytestmark = pytest.mark.usefixtures("small_search")


@pytest.fixture
def no_scan(monkeypatch):
    """Only the quick techniques at their declared strengths, so a whole search takes seconds."""
    for name, declared in list(TECHNIQUES.items()):
        if declared.suggest is not None and declared.strength.tries:
            monkeypatch.setitem(TECHNIQUES, name, replace(declared, suggest=None))
        elif declared.suggest is not None:
            monkeypatch.delitem(TECHNIQUES, name)


@pytest.fixture(scope="module")
def model(digits):
    module = th.models.build("tabular-mlp", (64,), 10, steps=digits.training_steps)
    th.models.train(module, digits, th.models.TrainConfig(epochs=10))
    return th.load(module, input_shape=(64,))


def searched(model, digits, tmp_path, monkeypatch, name: str, **where):
    monkeypatch.setenv("THRIFTY_CACHE", str(tmp_path / name))  # each measures afresh
    started = time.monotonic()
    found = th.optimize(model, digits, max_drop=2.0, objective="size", time_budget=600, **where)
    return found, time.monotonic() - started


def tried(found) -> list[str]:
    return sorted(f"{c.trial.recipe}@{c.trial.epochs}" for c in found.candidates)


def test_local_processes_choose_what_this_process_chooses(
    model, digits, tmp_path, monkeypatch, no_scan
):
    here, _ = searched(model, digits, tmp_path, monkeypatch, "here", workers=1)
    apart, _ = searched(model, digits, tmp_path, monkeypatch, "apart", workers=2)
    assert tried(apart) == tried(here)
    assert "channels:0.5,quantize:int8-dynamic@2" in tried(here)  # a second wave: from its head
    assert apart.best.trial == here.best.trial


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_ray_cluster_chooses_what_this_process_chooses(
    model, digits, tmp_path, monkeypatch, no_scan
):
    here, serial = searched(model, digits, tmp_path, monkeypatch, "here", workers=1)
    with two_nodes() as address:
        remote, ray = searched(model, digits, tmp_path, monkeypatch, "ray", cluster=address)
    print(f"serial search {serial:.0f} s; on two Ray nodes {ray:.0f} s")  # for the note
    assert tried(remote) == tried(here)
    assert remote.best.trial == here.best.trial


def test_a_batch_goes_in_waves_after_its_prefixes():
    trials = [Trial(Recipe.parse(r), 2) for r in
              ("channels:0.5,quantize:int8-dynamic", "channels:0.5", "prune:0.5",
               "channels:0.5,prune:0.5,share:4", "channels:0.5,prune:0.5")]  # fmt: skip
    waves = [[str(t.recipe) for t in wave] for wave in _waves(trials)]
    assert waves == [
        ["channels:0.5", "prune:0.5"],
        ["channels:0.5,quantize:int8-dynamic", "channels:0.5,prune:0.5"],
        ["channels:0.5,prune:0.5,share:4"],
    ]


def test_a_wrong_worker_count_is_one_line(model, digits):
    with pytest.raises(DataError, match="workers must be"):
        th.optimize(model, digits, workers="two", time_budget=10)
