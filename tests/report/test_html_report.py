"""The optimization report page: rendered from the report's record, as ``thrifty report``
renders it from report.json, and opened in a real headless browser (Debian's chromium; .ci/run
installs it), which must draw its charts. The screenshot is kept in out/screenshots/report.png.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from thrifty.optimize.result import Optimized
from thrifty.report.candidate import Bill, Candidate, Deployment, Layer, Tensor
from thrifty.report.html import render
from thrifty.report.record import Report

pytestmark = pytest.mark.timeout(180)
ROOT = Path(__file__).resolve().parents[2]
ABOUT = {
    "model": {"name": "lenet", "source": "models/lenet.onnx", "bytes": 1_066_800,
              "preprocessing": [{"step": "scale", "factor": 1 / 255},
                                {"step": "standardize", "mean": [0.1] * 784}]},
    "data": {"name": "fashion-mnist", "source": "debian", "preprocessing": [],
             "rows": {"train": 54_000, "val": 6_000, "test": 10_000}},
    "metric": "accuracy", "pricing": "same-zone",
    "workload": {"inferences_per_month": 5e8, "replicas": 12, "deploys_per_month": 4,
                 "versions_kept": 10},
    "time_budget_s": 600.0, "seconds_used": 412.3,
    "machine": {"cpu": "AMD EPYC 7B13", "vector": ["avx2", "fma"], "cores": 16},
    "thrifty": "0.1.0", "date": "2026-12-01T10:59:08+00:00",
}  # fmt: skip


def candidate(recipe: str, quality: float, money: float, size: int) -> Candidate:
    """``money`` dollars per million inferences; a tenth of its bill is storage."""
    bill = Bill(money * 3, money, money * 6, money, "same-zone")
    runs = Deployment("onnxruntime", 1, "cpu", 512, 50_000.0, 0.02, quality, bill, ())
    layers = (Layer("fc1", "Gemm", 235_500, 470_400),)
    tensors = (Tensor("fc1.weight", (300, 784), "sparse gaps/rans", size, 0.7, 0.94),)
    return Candidate(recipe, 2, quality, "accuracy", size, 1.0, Path("m.thrifty"), False, runs,
                     (runs,), layers, tensors)  # fmt: skip


@pytest.fixture
def report() -> Report:
    found = Optimized(
        candidate("", 0.896, 0.0040, 1_067_276),
        [candidate("prune:0.94,share:5", 0.891, 0.0021, 23_026),
         candidate("prune:0.97", 0.850, 0.0019, 15_000),
         candidate("quantize:int8-static", 0.895, 0.0030, 270_000)],
        max_drop=0.5, objective="money", about=ABOUT,
    )  # fmt: skip
    return found.report()


def test_the_page_holds_every_number_and_its_charts(report):
    page = render(report)
    assert page.count('<circle class="point') == 4  # the original and three candidates
    assert page.count('<rect class="bar"') == 6  # three categories, before and after
    assert "prune:0.94,share:5" in page and "46.4x smaller" in page
    assert "<script" not in page and "http" not in page.replace("http-equiv", "")


def test_the_page_says_what_it_is_about(report):
    page = render(report)
    assert "<h1>thrifty optimize: lenet</h1>" in page
    for fact in ("models/lenet.onnx", "1,066,800 bytes", "fashion-mnist", "54,000 training",
                 "6,000 validation", "10,000 test rows", "preprocessing: none (rows as given)",
                 "its first layer applies scale (factor 0.00392157)",
                 "standardize (mean: 784 values)", "the same-zone pricing profile",
                 "500,000,000 inferences a month on 12 replicas", "4 deploys",
                 "10 versions kept", "412 s used of a 600 s time budget", "AMD EPYC 7B13",
                 "16 cores", "avx2 fma", "thrifty 0.1.0", "2026-12-01 10:59 UTC"):  # fmt: skip
        assert fact in page, fact


def test_the_chosen_row_is_marked_and_both_splits_shown(report):
    page = render(report)
    (row,) = [r for r in page.split("<tr") if r.startswith(' class="chosen')]
    assert "<span class=mark>chosen</span> prune:0.94,share:5" in row
    assert page.count("<span class=mark>chosen</span>") == 1
    assert "drop, validation</th><th>drop, test</th>" in page
    assert "choice is made on the validation split; test is reported, never used to choose" in page
    assert page.count('<tr class="over">') == 1  # prune:0.97 lost 4.6 points


def test_chart_points_are_labelled_with_their_recipes(report):
    page = render(report)
    labels = page.split("<svg")[1].split('class="label"')[1:]
    texts = [label.split(">")[1].split("<")[0] for label in labels]
    assert "chosen: prune:0.94,share:5" in texts and "original" in texts
    front = {c.recipe or "original" for c in report.front}
    assert front - {"prune:0.94,share:5"} <= set(texts)
    for recipe in ("prune:0.97", "quantize:int8-static"):  # every point has its tooltip
        assert f"<title>{recipe}: " in page


def test_a_real_browser_draws_it(report, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.fail("chromium is not installed: apt-get install chromium (.ci/run does)")
    page = tmp_path / "report.html"
    page.write_text(render(report))
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    dom = subprocess.run(
        [*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    ).stdout
    assert dom.count("<circle") == 4 and dom.count('class="bar"') == 6
    shots = ROOT / "out" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    shot = shots / "report.png"
    shot.unlink(missing_ok=True)
    subprocess.run(
        [*flags, f"--screenshot={shot}", "--window-size=1100,1800", page.as_uri()],
        capture_output=True, timeout=120,
    )  # fmt: skip
    assert shot.is_file() and shot.stat().st_size > 20_000  # a page with charts, not a blank


def test_the_page_lists_what_did_not_apply(report):
    why = {"channels:0.5": "channels pruning needs Linear or Conv layers"}
    page = render(replace(report, not_applicable=why))
    assert "<code>channels:0.5</code>: channels pruning needs Linear or Conv layers" in page
    assert "Not tried" not in render(report)
