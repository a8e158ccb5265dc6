"""The transfer benchmark runs end to end on a small model and prints the JSON it promises."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEYS = {
    "cpu", "file_bytes", "pull_mb_per_s", "curl_mb_per_s", "pull_over_curl", "curl_fsync_mb_per_s",
    "pull_over_curl_fsync", "changed_bytes",
    "moved_bytes", "pushed_bytes", "manifest_bytes", "killed_at", "refetched_bytes",
    "rewritten_bytes", "chunk_bytes", "delta_over_full", "delta_file_bytes",
    "delta_moved_bytes", "delta_bytes", "delta_records", "delta_changed",
}  # fmt: skip


@pytest.mark.timeout(300)
def test_transfer_benchmark_json():
    result = subprocess.run(
        [sys.executable, "benchmarks/transfer.py", "--json", "--layers", "784,512,256,10",
         "--delta-model", "tabular-mlp", "--delta-data", "digits"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    document = json.loads(result.stdout)
    assert set(document) == KEYS
    assert document["moved_bytes"] == document["pushed_bytes"] == document["changed_bytes"]
    assert 0 < document["changed_bytes"] < document["file_bytes"] / 2
    assert document["pull_over_curl"] > 0 and document["refetched_bytes"] >= 0
    assert document["delta_records"] >= 1  # the fine-tuned weights came as deltas
    assert 0 < document["delta_over_full"] < 1
