"""The pack benchmark's measurement: streams found, entropy computed, JSON as promised."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.append(str(ROOT / "benchmarks"))  # last: benchmarks/transformers.py is not transformers

import pack as bench  # noqa: E402  (benchmarks/pack.py, not thrifty.pack)


def test_entropy_of_a_known_stream():
    symbols = np.array([0, 1] * 500)  # one bit a symbol
    assert bench.entropy_bytes(symbols) == 125.0


def test_streams_of_a_compressed_model(tmp_path, digits):
    import thrifty as th
    from thrifty.compress import FineTune

    model = th.load(th.models.build("tabular-mlp", (64,), 10), input_shape=(64,))
    small = th.compress(model, "prune:0.9,share:3", digits, finetune=FineTune(epochs=0))
    th.pack(small, tmp_path / "m.thrifty")
    rows = bench.streams(tmp_path / "m.thrifty")
    assert "fc1.weight values" in {row["tensor"] for row in rows}
    for row in rows:
        assert row["bytes"] >= row["table_bytes"] >= 0
        assert row["bytes"] * 8 >= row["entropy_bytes"] * 8 - 1e-6  # no code beats its bound


def test_json_shape(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/pack.py"), "--json", "--quick"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert {"streams", "worst_overhead", "unpack_mb_per_s", "cpu"} <= set(document)
    assert "cores" in document["cpu"]
    assert all({"tensor", "bytes", "entropy_bytes"} <= set(s) for s in document["streams"])
    assert document["unpack_mb_per_s"] > 0
