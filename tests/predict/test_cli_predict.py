"""thrifty predict as a user runs it: a real process, its summary line, its exit codes."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

import thrifty as th

pytestmark = pytest.mark.timeout(300)


def thrifty(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "thrifty.cli", *args], capture_output=True, text=True
    )


def test_predict_then_bad_inputs(tmp_path):
    model = tmp_path / "m.onnx"
    th.load(th.models.build("tabular-mlp", (8,), 3), input_shape=(8,)).save(model)
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((3_000, 8), dtype=np.float32))
    out = tmp_path / "p.parquet"
    done = thrifty("predict", str(model), str(tmp_path / "x.npy"), "-o", str(out), "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert "predicted 3,000 rows" in done.stdout and "2 workers" in done.stdout
    assert pq.read_table(out).num_rows == 3_000

    np.save(tmp_path / "wide.npy", np.zeros((10, 5), np.float32))
    for args, message in [
        ([str(model), str(tmp_path / "wide.npy"), "-o", str(tmp_path / "w.parquet")], "expects"),
        ([str(model), str(tmp_path / "none.npy"), "-o", str(tmp_path / "n.parquet")], "exist"),
        ([str(model), str(tmp_path / "x.npy"), "-o", str(tmp_path / "p.txt")], "folder"),
    ]:
        result = thrifty("predict", *args)
        assert result.returncode == 1 and result.stderr.startswith("error: "), result.stderr
        assert message in result.stderr and "Traceback" not in result.stderr
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []
