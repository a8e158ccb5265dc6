"""``thrifty demo``: what a new user runs first. Trains (or reuses) a baseline and profiles it."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from thrifty.errors import DatasetNotInstalled


def run_demo(out: Path, *, quiet: bool = False):
    """LeNet-300-100 on Fashion-MNIST (digits when Fashion-MNIST is not installed), profiled."""
    from thrifty.datasets import load as load_data
    from thrifty.measure import Bill, load_pricing, profile
    from thrifty.models import load
    from thrifty.models.baseline import train_baseline

    console = Console(stderr=True, quiet=quiet)
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
        console.print(f"wrote {path}: test {report['metric']} {report['test']:.4f}")
    with console.status("measuring what it costs"):
        cost = profile(load(path), data)
    console.print(
        f"next: thrifty profile {path} --data {data.name} --json, or the same with your own "
        "model and data (thrifty profile --help)"
    )
    return cost, Bill.of(cost, load_pricing())
