"""The compression benchmark finds its recipe with the optimizer and scores what it wrote."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_run_reports_the_test_drop_beside_the_validation_drop():
    result = subprocess.run(
        [sys.executable, "benchmarks/compression.py", "--json", "--quick"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert "cores" in document["cpu"] and document["max_drop"] == 0.5
    [row] = document["models"]
    assert row["model"] == "tabular-mlp" and row["candidates"] >= 1
    assert row["drop_validation"] <= document["max_drop"] + 1e-9  # what the search decided on
    assert row["drop_test"] == 100 * (row["baseline_accuracy"] - row["accuracy"])
    assert 0 < row["bytes_after"] < row["bytes_before"]
