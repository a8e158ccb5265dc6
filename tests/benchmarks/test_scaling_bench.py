"""The scaling benchmark runs end to end at 1/100 of its size and prints the JSON it promises."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEYS = {
    "cpu", "cores", "points", "efficiency_at_cores", "ray_rows", "ray_rows_per_s",
    "local_rows_per_s", "ray_over_local", "peak_rss_small", "peak_rss_large",
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_scaling_benchmark_json():
    result = subprocess.run(
        [sys.executable, "benchmarks/scaling.py", "--json", "--scale", "0.01"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    document = json.loads(result.stdout)
    assert set(document) == KEYS
    assert [p["workers"] for p in document["points"]] == list(range(1, document["cores"] + 1))
    assert all(p["rows_per_s"] > 0 for p in document["points"])
    assert document["ray_rows"] == 10_000 and document["ray_over_local"] > 0
    assert document["peak_rss_small"] > 0 and document["peak_rss_large"] > 0
