"""The optimization report page: rendered from report.json, and opened in a real headless
browser (Debian's chromium; .ci/run installs it), which must draw its charts. The screenshot is
kept in out/screenshots/report.png."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from thrifty.optimize.result import Optimized
from thrifty.optimize.trial import Measured, Trial
from thrifty.report.html import render

pytestmark = pytest.mark.timeout(180)
ROOT = Path(__file__).resolve().parents[2]


def candidate(recipe: str, quality: float, money: float, size: int) -> Measured:
    bill = {"compute_usd": money * 3, "storage_usd": money, "bandwidth_usd": money * 6,
            "total_usd": money * 10}  # fmt: skip
    layers = [{"name": "fc1", "op": "Gemm", "params": 235_500, "flops": 470_400}]
    tensors = [{"name": "fc1.weight", "shape": [300, 784], "encoding": "sparse gaps/rans",
                "bytes": size, "bits_per_weight": 0.7, "sparsity": 0.94}]  # fmt: skip
    return Measured(Trial(recipe, 2), quality, quality, "accuracy", size, money, money * 10,
                    0.02, bill, 1.0, Path("m.thrifty"), layers, tensors)  # fmt: skip


@pytest.fixture
def report() -> dict:
    found = Optimized(
        candidate("", 0.896, 0.0040, 1_067_276),
        [candidate("prune:0.94,share:5", 0.891, 0.0021, 23_026),
         candidate("prune:0.97", 0.850, 0.0019, 15_000),
         candidate("quantize:int8-static", 0.895, 0.0030, 270_000)],
        max_drop=0.5, objective="money",
    )  # fmt: skip
    return json.loads(json.dumps(found.to_json(), default=str))


def test_the_page_holds_every_number_and_its_charts(report):
    page = render(report)
    assert page.count('<circle class="point') == 4  # the original and three candidates
    assert page.count('<rect class="bar"') == 6  # three categories, before and after
    assert "prune:0.94,share:5" in page and "46.4x smaller" in page
    assert "<script" not in page and "http" not in page.replace("http-equiv", "")


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
