"""The example scripts, each run as a user runs it (a subprocess) on a small slice of its data
with a short search: it must end with a valid report and the files its story promises."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import thrifty as th

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
QUICK = ("--time-budget", "5")

pytestmark = pytest.mark.timeout(300)


def run_example(name: str, out: Path, *options: str) -> subprocess.CompletedProcess:
    script = EXAMPLES / f"{name}.py"
    env = {**os.environ, "THRIFTY_CACHE": str(out.parent / "cache"), "COLUMNS": "120"}
    done = subprocess.run(
        [sys.executable, str(script), "--out", str(out), *QUICK, *options],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def check_report(out: Path, metric: str) -> dict:
    """report.json with the baseline and the best in ``metric``, the page, and the model."""
    report = json.loads((out / "report.json").read_text())
    for entry in ("baseline", "best"):
        assert report[entry]["metric"] == metric
        assert isinstance(report[entry]["test"], float)
    assert (out / "report.html").stat().st_size > 0
    assert th.unpack(out / "model.thrifty").proto.graph.node
    return report


def test_medical_keeps_the_recall_of_malignant_tumours(tmp_path):
    out = tmp_path / "medical"
    done = run_example("medical", out)
    report = check_report(out, "recall:malignant")
    assert report["max_drop"] == 0
    assert report["best"]["validation"] >= report["baseline"]["validation"]
    assert "per million inferences" in done.stdout
    assert str(out / "report.html") in done.stdout.replace("\n", "")


def test_finance_scores_the_portfolio(tmp_path):
    out = tmp_path / "finance"
    run_example("finance", out, "--rows", "2000")
    check_report(out, "auc")
    scores = pq.read_table(out / "scores.parquet")
    assert sorted(scores["row"].to_pylist()) == list(range(2000))


def test_logistics_ships_the_model_and_predicts_the_year(tmp_path):
    out = tmp_path / "logistics"
    done = run_example("logistics", out, "--rows", "2000")
    check_report(out, "mae")
    assert (out / "replica" / "model.thrifty").read_bytes() == (out / "model.thrifty").read_bytes()
    assert pq.read_table(out / "delays-2013.parquet").num_rows == 2000
    assert "predicts the same" in done.stdout


def test_a_missing_data_package_is_one_line_and_status_1(capsys):
    spec = importlib.util.spec_from_file_location("_common", EXAMPLES / "_common.py")
    common = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(common)
    with pytest.raises(SystemExit) as exited:
        common.package_data("no_such_data_package", "data/rows.csv")
    message = str(exited.value.code)
    assert "make setup" in message and "\n" not in message
