"""th.optimize.plan and ``thrifty optimize --plan``: what a search would try within its budget and
what each trial should take, with nothing trained, compressed or written; checked against the
search itself, run on made-up results."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import thrifty as th
import thrifty.optimize.search as search
from made_up import measured, one_by_one
from thrifty.cli import app
from thrifty.compress import Prune, Recipe, Scans
from thrifty.compress.registry import TECHNIQUES
from thrifty.measure import Workload, load_pricing
from thrifty.optimize.trial import Measured, Trial, measure

pytestmark = pytest.mark.timeout(300)


def groups(model, data, max_drop: float) -> list[list[Recipe]]:
    """The search's groups, with the strengths each ``suggest`` hook picks for the model."""
    loaded = th.load(model, input_shape=data.input_shape)
    picked = {name: t.suggest(loaded, data, max_drop, Scans()).strengths
              for name, t in TECHNIQUES.items() if t.suggest is not None}  # fmt: skip
    return search.groups(picked)


def test_the_command_names_every_first_rung_recipe_and_writes_nothing(model, digits, tmp_path):
    args = ["optimize", str(model), "-d", "digits", "--max-drop", "2", "--plan"]
    env = {**os.environ, "THRIFTY_CACHE": str(tmp_path / "cache")}
    shown = subprocess.run(
        [sys.executable, "-m", "thrifty.cli", *args],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    first = [str(r) for group in groups(model, digits, 2.0) for r in group]
    assert len(first) > 4 and any(r.startswith("prune:") for r in first)  # picked for it
    names = {line.strip() for line in shown.stdout.splitlines()}  # whole, as NamedRows keeps them
    assert [r for r in first if r not in names] == []
    assert "rung 2, 10 epochs: at most" in shown.stdout
    assert list(tmp_path.iterdir()) == []  # no output folder, nothing cached

    document = json.loads(CliRunner().invoke(app, [*args, "--json"]).stdout)
    trials = [line for line in document["lines"] if line["kind"] == "trial"]
    assert [x["recipe"] for x in trials if x["rung"] == 1 and x["certain"]] == first
    assert all(x["seconds"] > 0 for x in trials) and document["seconds_at_most"] > 0
    assert document["calibration"]["validation_s"] > 0


@pytest.mark.usefixtures("small_search")
def test_nothing_is_trained_compressed_or_written(model, digits, monkeypatch, tmp_path):
    def refused(*args, **kwargs):
        raise AssertionError("the plan trained or compressed")

    monkeypatch.setattr("thrifty.compress.compress", refused)  # where the search finds them
    monkeypatch.setattr("thrifty.models.training.train", refused)
    found = th.optimize.plan(model, digits, 2.0, time_budget=300)
    first = [str(r) for group in groups(model, digits, 2.0) for r in group]
    assert [x.recipe for x in found.lines if x.rung == 1 and x.certain] == first
    assert [r.epochs for r in found.rungs if r.group == 1] == list(search.RUNGS)
    assert all(x.seconds > 0 and x.measured is None for x in found.trials)
    assert found.lines[-1].by_then == found.seconds > 0
    short = th.optimize.plan(model, digits, 2.0, time_budget=found.seconds / 2)
    fits = [x.fits for x in short.lines if x.counted]
    within = fits.count("yes")  # the seconds spent only rise: none fits after one may not
    assert within and fits[:within] == ["yes"] * within and "yes" not in fits[within:]
    assert not (tmp_path / "cache").exists()


def test_every_trial_the_search_makes_is_in_the_plan(model, digits, monkeypatch):
    """The search run on made-up results (what survives differs with each seed) tries only
    trials the plan lists; thinning harder, which the plan gives one line, is left out."""
    found = th.optimize.plan(model, digits, 2.0, time_budget=1e9)
    listed = {(x.recipe, x.epochs) for x in found.trials}
    searched = groups(model, digits, 2.0)
    monkeypatch.setattr(search, "harder", lambda *args: None)
    for seed in range(8):
        run = made_up(random.Random(seed))
        tried = search.successive_halving(
            one_by_one(run), run(Trial(Recipe(), 0)), searched, 2.0, "money", deadline=1e18
        )
        made = [(str(m.trial.recipe), m.trial.epochs) for m in tried]
        assert len(made) > len(searched[0]) and [t for t in made if t not in listed] == []


@pytest.mark.usefixtures("small_search")
def test_strengths_a_scan_would_take_long_to_pick_are_priced_without_it(model, digits, monkeypatch):
    monkeypatch.setattr("thrifty.optimize.plan.LIMIT", 0.0)  # every scan takes too long
    found = th.optimize.plan(model, digits, 2.0, time_budget=300)
    scans = {x.recipe: x for x in found.lines if x.kind == "suggest"}
    assert set(scans) == {"prune", "quantize"}
    for scan in scans.values():
        assert "when the search runs" in scan.note and scan.seconds > 0
    picked = [x for x in found.lines if x.recipe.startswith("prune:")]
    assert [x.recipe for x in picked] == ["prune:?"] * len(search.RUNGS)
    assert all(x.seconds > 0 and not x.counted for x in picked)
    assert [x.epochs for x in picked] == list(search.RUNGS)


def made_up(draw: random.Random):
    """``run(trial)``: a measurement of made-up quality and price (how many of them stay within
    the budget drawn too)."""
    worst = draw.uniform(0.5, 0.95)

    def run(trial: Trial) -> Measured:
        quality, money = draw.uniform(worst, 0.95), draw.uniform(0.1, 1.0)
        return measured(trial.recipe, quality, money, 100, trial.epochs)

    return run


@pytest.mark.usefixtures("small_search")
def test_a_trial_in_the_cache_shows_what_measuring_it_took(model, digits):
    loaded, pricing = th.load(model, input_shape=(64,)), load_pricing(None)
    for recipe in ("", "quantize:int8-dynamic"):
        measure(loaded, digits, Trial(Recipe.parse(recipe), 0), pricing, Workload(), None)
    found = th.optimize.plan(model, digits, 2.0, time_budget=300)
    by_recipe = {x.recipe: x for x in found.trials}
    for recipe in ("", "quantize:int8-dynamic"):
        line = by_recipe[recipe]
        assert line.measured is not None and line.measured > 0 and line.seconds == 0.0
    assert found.calibration.scale != 1.0  # modelled measuring, scaled to the model's own
    assert by_recipe["channels:0.5"].measured is None and by_recipe["channels:0.5"].seconds > 0


def test_a_gradual_schedule_declares_the_fine_tuning_it_runs():
    declared = TECHNIQUES["prune"]
    assert declared.tuning(Prune(0.9), 20) == 20 + 3 * 2  # an eighth after each step but the last
    assert declared.tuning(Prune(0.9, schedule="oneshot"), 20) == 20
    assert declared.tuning(Prune(0.9), 2) == 2  # none between steps under 8 epochs
    assert TECHNIQUES["channels"].tuning(None, 10) == 10  # the default: what it is given


def test_without_plan_the_output_folder_is_needed(model):
    result = CliRunner().invoke(app, ["optimize", str(model), "-d", "digits"])
    assert result.exit_code == 2
    assert "Missing option '--output' / '-o': give a folder to write into, or --plan" in (
        result.output
    )
    result = CliRunner().invoke(app, ["optimize", str(model), "-d", "digits", "-o", "x", "--json"])
    assert result.exit_code == 2 and "give --plan too" in result.output
