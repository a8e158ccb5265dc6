"""The runtimes benchmark runs end to end and prints the JSON it promises (no speed thresholds)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEYS = {
    "model",
    "torch_samples_per_s",
    "ort_samples_per_s",
    "ort_over_torch",
    "torch_batch",
    "ort_batch",
    "torch_spread",
    "ort_spread",
}


def test_runtimes_benchmark_prints_one_json_object():
    command = [
        sys.executable,
        "benchmarks/runtimes.py",
        "--json",
        "--models",
        "lenet-300-100",
        "--budget",
        "0.05",
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    if done.returncode == 1 and "Fashion-MNIST is not installed" in done.stderr:
        pytest.skip(done.stderr.strip())
    assert done.returncode == 0, done.stderr

    document = json.loads(done.stdout)  # the whole of stdout: nothing else is printed there
    assert set(document) == {"cpu", "threads", "models"}
    assert isinstance(document["threads"], int) and document["threads"] >= 1
    [row] = document["models"]
    assert set(row) == KEYS
    assert row["model"] == "lenet-300-100"
    for runtime in ("torch", "ort"):
        assert row[f"{runtime}_samples_per_s"] > 0
        assert row[f"{runtime}_batch"] in (1, 8, 32, 128, 512)
        assert row[f"{runtime}_spread"] >= 0
    assert row["ort_over_torch"] == pytest.approx(
        row["ort_samples_per_s"] / row["torch_samples_per_s"]
    )


def test_runtimes_benchmark_refuses_unknown_models():
    command = [sys.executable, "benchmarks/runtimes.py", "--json", "--models", "resnet-50"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "resnet-50" in done.stderr and done.stdout == ""
