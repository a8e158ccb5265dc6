"""``thrifty demo``: what a new user runs first, end to end: trains (or reuses) a baseline,
profiles it, finds its cheapest version within half a point of accuracy, predicts the test set
with that packed model, and writes the report."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from thrifty.datasets.metrics import Metric
from thrifty.errors import DatasetNotInstalled
from thrifty.paths import writable_folder
from thrifty.progress import measured, status


def run_demo(out: Path, *, quiet: bool = False):
    """LeNet-300-100 on Fashion-MNIST (digits when Fashion-MNIST is not installed), profiled."""
    from thrifty.baseline import train_baseline
    from thrifty.datasets import load as load_data
    from thrifty.loading import load
    from thrifty.measure import Bill, load_pricing, profile

    writable_folder(out)
    console = Console(stderr=True, quiet=quiet, soft_wrap=True)
    try:
        data = load_data("fashion-mnist")
    except DatasetNotInstalled as missing:
        console.print(f"[yellow]{missing}[/]\nthe demo goes on with the digits data instead")
        data = load_data("digits")
    path = out / f"lenet-300-100-{data.name}.onnx"
    if path.is_file():
        console.print(f"reusing the baseline trained earlier: {path} (delete it to retrain)")
    else:
        console.print(f"training LeNet-300-100 on {data.name} ({len(data.train):,} images)")
        report = train_baseline("lenet-300-100", data, path, progress=not quiet)
        (out / "train.json").write_text(json.dumps(report, indent=2))
        test = Metric(report["metric"]).format(report["test"])
        console.print(f"wrote {path}: test {report['metric']} {test}")
    with status("measuring what it costs", quiet=quiet):
        cost = profile(load(path), data)
    return data, path, cost, Bill.of(cost, load_pricing())


def optimize_and_predict(data, path: Path, out: Path, *, quiet: bool = False, budget: float = 150):
    """The optimizer on the baseline (``budget`` seconds), then the test set predicted with the
    packed model it chose; returns the optimization and the predictions' accuracy."""
    import numpy as np
    import pyarrow.parquet as pq

    import thrifty as th
    from thrifty.report.text import how_it_runs

    console = Console(stderr=True, quiet=quiet, soft_wrap=True)
    console.print(f"looking for the cheapest version within 0.5 points ({budget:.0f} s budget)")
    found = th.optimize(
        path, data, 0.5, time_budget=budget, out=out / "optimized",
        progress=None if quiet else measured(budget),
    )  # fmt: skip
    packed = out / "optimized" / "model.thrifty"
    predictions = out / "predictions.parquet"
    runs_as = found.best.deployment  # the runtime and threads it runs cheapest with
    done = th.predict(packed, data.test.x, predictions, runtime=runs_as.runtime,
                      threads=runs_as.threads, progress=not quiet)  # fmt: skip
    classes = pq.read_table(predictions).sort_by("row").column("class").to_numpy()
    accuracy = float(np.mean(classes == data.test.y))
    how = how_it_runs(runs_as.runtime, done.threads, workers=done.workers)
    score = Metric("accuracy").format(accuracy)
    console.print(
        f"predicted {len(classes):,} test images with {packed} ({how}) into {predictions}: "
        f"accuracy {score}\nthe report: {out / 'optimized' / 'report.html'}\n"
        f"next: thrifty optimize YOUR_MODEL --data YOUR_DATA -o OUT/ (thrifty optimize --help)"
    )
    return found, accuracy
