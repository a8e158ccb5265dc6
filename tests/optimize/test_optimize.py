"""th.optimize on a small model: candidates measured as deployed, the cheapest within budget,
the Pareto front, outputs written, measurements cached, and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import thrifty as th
import thrifty.optimize.search as search
from made_up import measured, one_by_one
from thrifty.compress import Recipe
from thrifty.errors import DataError
from thrifty.optimize.result import EVEN, Optimized
from thrifty.optimize.trial import Measured, Trial
from thrifty.report.record import Report

pytestmark = [pytest.mark.timeout(600), pytest.mark.usefixtures("small_search")]


def test_the_cheapest_within_budget_is_written(model, digits, tmp_path, monkeypatch):
    compressed, compress = [], th.compress

    def recorded(model, recipe, *args, **kwargs):
        compressed.append(str(recipe))
        return compress(model, recipe, *args, **kwargs)

    monkeypatch.setattr("thrifty.compress.compress", recorded)  # where the optimizer finds it
    found = th.optimize(model, digits, max_drop=2.0, time_budget=300, out=tmp_path / "out")
    assert found.candidates, "nothing was tried"
    assert "channels:0.5" in compressed  # a combination starts from the measured channels:0.5
    assert not [r for r in compressed if r.startswith("channels:") and "," in r]
    within = [c for c in [found.baseline, *found.candidates] if c.drop(found.baseline) <= 2.0]
    cheapest = min(c.objective("money") for c in within)
    even = [c for c in within if c.objective("money") <= cheapest * (1 + EVEN)]
    safe = [c for c in even if c.drop(found.baseline) <= 1.0]  # within half the budget
    assert found.best in even and found.best.bytes == min(c.bytes for c in safe or even)
    recipes = [str(c.trial.recipe) for c in found.candidates]
    assert recipes[:2] == ["quantize:int8-dynamic", "channels:0.5"]  # the quick group first
    assert "channels:0.5,quantize:int8-dynamic" in recipes  # the second rung combines
    strength = next(r for r in recipes if r.startswith("prune:"))  # then pruning
    int8 = next(c for c in found.candidates if str(c.trial.recipe) == "quantize:int8-dynamic")
    if int8.drop(found.baseline) <= 2.0:  # kept by the quick group: crossed with pruning
        assert f"{strength},quantize:int8-dynamic" in recipes
    int8_trials = [c.trial for c in found.candidates if c.trial.recipe == int8.trial.recipe]
    assert int8_trials == [trial("quantize:int8-dynamic", 0)]  # nothing to fine-tune: once
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    scans = [tuple(row["drops"]) for row in report["sensitivity"]]  # pruning's grid, then int8
    assert sorted(map(len, scans)) == [1, 1, 1, 8, 8, 8] and ("int8",) in scans
    runtimes = {(d["runtime"], d["threads"]) for d in report["best"]["deployments"]}
    assert ("onnxruntime", 1) in runtimes
    assert report["best"]["deployment"] in report["best"]["deployments"]
    pruned = next(c for c in report["candidates"] if c["trial"]["recipe"].startswith("prune:"))
    assert any(d["runtime"] == "torch-sparse" for d in pruned["deployments"])
    assert report["best"]["trial"] == {
        "recipe": str(found.best.trial.recipe),
        "epochs": found.best.trial.epochs,
    }
    assert len(report["candidates"]) == len(found.candidates)
    assert Report.from_json(report).to_json() == report
    packed = th.unpack(tmp_path / "out" / "model.thrifty")
    assert th.profile(packed, digits, timing_budget_s=0.05).quality.value == pytest.approx(
        found.best.test
    )
    assert th.load(tmp_path / "out" / "model.onnx").proto.graph.node
    page = (tmp_path / "out" / "report.html").read_text()
    assert page.count('<circle class="point') == len(found.candidates) + 1

    def no_compressing(*args, **kwargs):
        raise AssertionError("a cached candidate was compressed again")

    monkeypatch.setattr("thrifty.compress.compress", no_compressing)
    again = th.optimize(model, digits, max_drop=2.0, time_budget=300)
    assert [c.to_json() for c in again.candidates] == [c.to_json() for c in found.candidates]


def test_pruning_is_crossed_with_what_the_quick_group_kept():
    earlier = ["channels:0.5,quantize:int8-static", "quantize:int8-static", "channels:0.25"]
    recipes = texts(search.combine(recipes_of("prune:0.9", "prune:0.8"), recipes_of(*earlier)))
    assert recipes[:5] == [  # the gentlest into the narrowed first; each strength before int8
        "channels:0.5,prune:0.8,quantize:int8-static",
        "prune:0.9", "prune:0.9,quantize:int8-static",
        "prune:0.8", "prune:0.8,quantize:int8-static",
    ]  # fmt: skip
    assert "channels:0.5,prune:0.9,quantize:int8-static" not in recipes  # the gentlest only
    shares = recipes[5:]  # each pruned recipe shared, fp32 before the int8 that starts from it
    assert shares[:4] == [
        "channels:0.5,prune:0.8,share:4", "channels:0.5,prune:0.8,share:4,quantize:int8-static",
        "channels:0.5,prune:0.8,share:5", "channels:0.5,prune:0.8,share:5,quantize:int8-static",
    ]  # fmt: skip
    assert shares[-2:] == ["prune:0.8,share:5", "prune:0.8,share:5,quantize:int8-static"]
    assert len(shares) == 12
    narrow = ["channels:0.25"]  # structured pruning alone, fp32: pruned after it, nothing before
    assert texts(search.combine(recipes_of("prune:0.9"), recipes_of(*narrow))) == [
        "channels:0.25,prune:0.9", "prune:0.9",
        "channels:0.25,prune:0.9,share:4", "channels:0.25,prune:0.9,share:5",  # 4-5 bit values
        "prune:0.9,share:4", "prune:0.9,share:5",
    ]  # fmt: skip


def test_weight_sharing_goes_before_quantization_never_twice():
    quick = ["quantize:int8-dynamic", "channels:0.5", "quantize:fp16"]
    recipes = search.combine(recipes_of(*quick))
    shown = texts(recipes)
    assert shown[3:5] == ["channels:0.5,quantize:int8-dynamic", "channels:0.5,share:4"]
    assert "channels:0.5,share:4,quantize:int8-dynamic" in shown
    assert not [r for r in shown if "fp16" in r and "," in r]  # fp16 is not crossed
    again = texts(search.combine(recipes))  # shared recipes are not shared again
    assert not [r for r in again if r.count("share:") > 1]
    narrowed = recipes_of("channels:0.5,share:4,quantize:int8-dynamic")
    later = texts(search.cross(recipes_of("prune:0.8"), narrowed))
    assert later[0] == "channels:0.5,prune:0.8,share:4,quantize:int8-dynamic"  # pruned, shared


def test_a_trial_that_would_overrun_the_budget_is_skipped(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(search.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(search, "RUNGS", (1, 10))

    def run(trial: Trial) -> Measured:  # 30 s an epoch of fine-tuning, on a fake clock
        clock[0] += 30.0 * trial.epochs
        return measured(trial.recipe, 0.9, 1.0, 100, trial.epochs, seconds=30.0 * trial.epochs)

    base = measured("", 0.9, 2.0, 1000)
    groups = [recipes_of("channels:0.5", "quantize:int8-dynamic")]
    tried = search.successive_halving(one_by_one(run), base, groups, 0.5, "money", deadline=200.0)
    assert [m.trial for m in tried] == [trial("channels:0.5", 1), trial("quantize:int8-dynamic", 0)]
    assert clock[0] <= 200.0  # 10 epochs of channels (alone, or before int8) would take 300 s
    everything = search.successive_halving(
        one_by_one(run), base, groups, 0.5, "money", deadline=1e9
    )
    assert trial("channels:0.5,quantize:int8-dynamic", 10) in [m.trial for m in everything]


def test_a_recipe_never_run_is_expected_to_take_what_its_technique_took():
    done = trial("prune:0.79,quantize:int8-static", 10)
    ran = {done: measured(done.recipe, 0.9, 1.0, 1, done.epochs, seconds=228.0)}
    assert search._expected(trial("prune:0.9,quantize:int8-static", 20), ran) == 456.0
    assert search._expected(trial("channels:0.5", 20), ran) == 0.0  # nothing like it ran


def test_the_best_pruned_one_is_pruned_harder_while_it_stays_within(monkeypatch):
    monkeypatch.setattr(search, "RUNGS", (1, 2))

    def run(trial: Trial) -> Measured:  # within the budget up to 90% pruned; smaller if shared
        strength = float(str(trial.recipe).split(",")[0].partition(":")[2])
        quality = 0.9 if strength <= 0.9 else 0.5
        shared = {"share:5": 2, "share:4": 3}.get(str(trial.recipe).partition(",")[2], 1)
        size = int(1000 * (1 - strength)) // shared
        return measured(trial.recipe, quality, 1.0, size, trial.epochs, seconds=1.0)

    base = measured("", 0.9, 2.0, 1000)
    tried = search.successive_halving(
        one_by_one(run), base, [recipes_of("prune:0.5")], 0.5, "money", deadline=1e18
    )
    recipes = [str(m.trial.recipe) for m in tried]
    harder = recipes[recipes.index("prune:0.5,share:5") + 1 :]
    assert harder[:3] == [f"prune:{s},share:4" for s in ("0.75", "0.88", "0.94")]
    assert harder[3:] == ["prune:0.91,share:4"]  # 0.94 was not within: halfway, not finer
    assert Optimized(base, tried, 0.5, "money").best.trial == trial("prune:0.88,share:4", 2)


def trial(recipe: str, epochs: int) -> Trial:
    return Trial(Recipe.parse(recipe), epochs)


def recipes_of(*recipes: str) -> list[Recipe]:
    return [Recipe.parse(r) for r in recipes]


def texts(recipes: list[Recipe]) -> list[str]:
    return [str(r) for r in recipes]


def test_the_pareto_front_and_the_closest_when_nothing_fits():
    base = measured("", 0.90, 1.0, 1000)
    a = measured("prune:0.5", 0.89, 0.5, 500)  # drop 1 point, cheaper, smaller
    b = measured("prune:0.9", 0.80, 0.4, 400)  # drops 10 points, cheapest
    c = measured("prune:0.6", 0.88, 0.6, 600)  # dominated by a
    found = Optimized(base, [a, b, c], max_drop=2.0, objective="money")
    assert found.best is a and found.closest is None
    assert {str(m.trial.recipe) for m in found.front} == {"", "prune:0.5", "prune:0.9"}
    strict = Optimized(base, [a, b, c], max_drop=0.5, objective="money")
    assert strict.best is base and strict.closest is a
    d = measured("share:4", 0.89, 0.5 * (1 + EVEN / 2), 300)  # as cheap as timing tells, smaller
    assert Optimized(base, [a, b, c, d], max_drop=2.0, objective="money").best is d
    e = measured("share:3", 0.885, 0.5, 200)  # smaller still, but 1.5 of the 2 points: past half
    assert Optimized(base, [a, b, c, d, e], max_drop=2.0, objective="money").best is d
    assert Optimized(base, [e], max_drop=2.0, objective="money").best is e  # none safer
    dearer = measured("share:5", 0.90, 1.5, 500)  # within the budget, but costs more
    kept = Optimized(base, [b, dearer], max_drop=0.5, objective="money")
    assert kept.best is base and kept.closest is None  # one stayed within: none to name


def test_bad_settings_are_refused(model, digits):
    with pytest.raises(DataError, match="objective"):
        th.optimize(model, digits, objective="speed")
    with pytest.raises(DataError, match="max_drop"):
        th.optimize(model, digits, max_drop=-1)


def test_the_cli(model, tmp_path):
    def thrifty(*args):
        command = [sys.executable, "-m", "thrifty.cli", "optimize", str(model), "-d", "digits"]
        return subprocess.run([*command, *args], capture_output=True, text=True)

    bad = thrifty("-o", str(tmp_path / "o"), "--time-budget", "ten minutes")
    assert bad.returncode == 1 and "time budget" in bad.stderr
    done = thrifty("-o", str(tmp_path / "o"), "--max-drop", "2", "--time-budget", "15s")
    assert done.returncode == 0, done.stderr
    assert "optimize: the cheapest by money" in done.stdout
    assert (tmp_path / "o" / "report.json").is_file()
    command = [sys.executable, "-m", "thrifty.cli", "report", str(tmp_path / "o" / "report.json")]
    again = subprocess.run([*command, "-o", str(tmp_path / "again.html")], capture_output=True)
    assert again.returncode == 0
    assert (tmp_path / "again.html").read_bytes() == (tmp_path / "o" / "report.html").read_bytes()
    wrong = subprocess.run([*command[:-1], str(model), "-o", str(tmp_path / "x.html")],
                           capture_output=True, text=True)  # fmt: skip
    assert wrong.returncode == 1 and "not a report.json" in wrong.stderr


def test_fine_tuning_stops_at_the_deadline_and_keeps_a_working_model(digits):
    import time

    import torch

    module = th.models.build("tabular-mlp", (64,), 10)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    config = th.models.TrainConfig(epochs=50, deadline=time.monotonic())  # already past
    result = th.models.train(module, digits, config)
    assert result.epochs == 1 and len(result.val_scores) == 1  # scored once, then stopped
    assert all(torch.equal(before[k], v) for k, v in result.module.state_dict().items())


def test_a_trial_cut_short_by_the_deadline_is_measured_but_not_cached(model, digits):
    import time

    from thrifty.measure import Workload, load_pricing
    from thrifty.optimize.trial import _cache_folder, measure

    loaded, pricing, workload = th.load(model), load_pricing(), Workload()
    narrowed = trial("channels:0.5", 5)
    cut = measure(loaded, digits, narrowed, pricing, workload, None, deadline=time.monotonic())
    assert cut.cut_short and cut.path.is_file() and 0 < cut.test <= 1
    folder = _cache_folder(loaded, digits, narrowed, pricing, workload, None)
    assert not (folder / "measured.json").exists()  # a longer search tunes it in full
    whole = measure(loaded, digits, narrowed, pricing, workload, None)
    assert not whole.cut_short and (folder / "measured.json").is_file()


def test_a_recipe_that_does_not_apply_is_dropped_and_the_search_goes_on(monkeypatch):
    monkeypatch.setattr(search, "RUNGS", (1, 10))
    asked = []

    def run(trial: Trial) -> Measured | None:  # channels finds no Linear or Conv layer
        asked.append(str(trial.recipe))
        if asked[-1].startswith("channels:"):
            return None
        return measured(trial.recipe, 0.9, 1.0, 100, trial.epochs, seconds=1.0)

    base = measured("", 0.9, 2.0, 1000)
    groups = [recipes_of("channels:0.5", "quantize:int8-dynamic"), recipes_of("prune:0.8")]
    tried = search.successive_halving(one_by_one(run), base, groups, 0.5, "money", deadline=1e9)
    assert asked.count("channels:0.5") == 1  # not asked again at the next rung
    assert not [r for r in asked if r.startswith("channels:") and "," in r]  # nor combined
    assert trial("prune:0.8", 10) in [m.trial for m in tried]  # the next group still runs


def test_the_report_says_what_was_not_tried_and_why():
    from thrifty.report.text import optimize_view

    base = measured("", 0.9, 2.0, 1000)
    why = "channels pruning needs Linear or Conv layers"
    found = Optimized(base, [], 0.5, "money", not_applicable={"channels:0.5": why})
    assert found.report().to_json()["not_applicable"] == {"channels:0.5": why}
    assert f"Not tried: channels:0.5 ({why})" in optimize_view(found.report()).caption
