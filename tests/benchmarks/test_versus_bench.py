"""The comparison's verdict: thrifty against the cheapest peer that stays within the budget."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# last on the path: benchmarks/transformers.py must not stand in for the transformers package
sys.path.append(str(Path(__file__).resolve().parents[2] / "benchmarks"))
versus = pytest.importorskip("versus")


def row(name: str, accuracy: float, dollars: float, one_thread: float | None, size: int) -> dict:
    entry = {"name": name, "accuracy": accuracy, "dollars_per_million": dollars, "bytes": size}
    if one_thread is not None:
        entry["dollars_per_million_one_thread"] = one_thread
    return entry


def test_the_verdict_ignores_peers_over_the_budget():
    rows = [
        row("torch-fp32", 0.900, 8.0, 7.0, 1000),
        row("ort-fp32", 0.900, 6.0, 5.0, 1000),
        row("ort-int8-dynamic", 0.890, 1.0, 0.5, 250),  # 1 point below: out of the budget
        row("ort-int8-static", 0.899, 3.0, 2.0, 250),
        row("thrifty", 0.897, 1.5, None, 50),
    ]
    verdict = versus.verdict(rows, fp32_bytes=1000)
    assert verdict["cheapest_peer"] == "ort-int8-static"
    assert verdict["cheaper_than_peer"] == pytest.approx(2.0)
    assert verdict["cheaper_than_peer_one_thread"] == pytest.approx(2.0 / 1.5)
    assert verdict["fewer_bytes_than_fp32"] == 20 and verdict["within_budget"]
