"""A Deep-Compression-style table: how small each model gets, and what accuracy it keeps.

For LeNet-300-100 and LeNet-5 on Fashion-MNIST: the fp32 baseline (trained once, cached in
out/bench/), then thrifty's recipe for it (gradual magnitude pruning with per-layer sparsity
from sensitivity, then k-means weight sharing, each with recovery fine-tuning), packed into a
.thrifty file. Accuracy is measured on the packed file in ONNX Runtime, on the 10,000 test
images; bytes before are the fp32 ONNX file's. Anchor: Deep Compression (Han et al. 2016)
took LeNet-300-100 to 40x and LeNet-5 to 39x on MNIST with no loss of accuracy.

    python benchmarks/compression.py [--json] [--models lenet-300-100,lenet-5]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

import thrifty as th
from _common import CACHE, baseline
from thrifty.compress import FineTune

RECIPES = {
    "lenet-300-100": "prune:0.94,share:5",
    "lenet-5": "prune:0.95,share:5",
}
FINETUNE = FineTune()  # thrifty's defaults: what a user gets


def run(name: str, data) -> dict:
    model = baseline(name, data)
    started = time.perf_counter()
    compressed = th.compress(model, RECIPES[name], data, finetune=FINETUNE)
    path = CACHE / f"{name}-compressed.thrifty"
    th.pack(compressed, path)
    seconds = time.perf_counter() - started
    packed = th.load(path)
    before = th.profile(model, data, timing_budget_s=0.1)
    after = th.profile(packed, data, timing_budget_s=0.1)
    weights = [a for a in _arrays(packed) if a.ndim >= 2]
    kept = sum(int((w != 0).sum()) for w in weights) / sum(w.size for w in weights)
    return {
        "model": name,
        "dataset": data.name,
        "recipe": RECIPES[name],
        "baseline_accuracy": before.quality.value,
        "accuracy": after.quality.value,
        "bytes_before": len(model.to_bytes()),
        "bytes_after": path.stat().st_size,
        "ratio": len(model.to_bytes()) / path.stat().st_size,
        "weights_remaining": kept,
        "bits_per_weight": 8 * path.stat().st_size / before.storage.params,
        "seconds": seconds,
    }


def _arrays(model: th.Model) -> list[np.ndarray]:
    from onnx import numpy_helper

    return [numpy_helper.to_array(t) for t in model.proto.graph.initializer]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object, nothing else")
    parser.add_argument("--models", default=",".join(RECIPES), help="comma-separated zoo models")
    args = parser.parse_args()
    names = [n for n in args.models.split(",") if n]
    unknown = sorted(set(names) - set(RECIPES))
    if unknown:
        parser.error(f"unknown models {unknown}: choose from {', '.join(RECIPES)}")
    CACHE.mkdir(parents=True, exist_ok=True)
    data = th.datasets.load("fashion-mnist")
    document = {"models": [run(name, data) for name in names]}
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        show(document)
    return 0


def show(document: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="compression on Fashion-MNIST (accuracy of the packed file, 10,000 test)")
    columns = ("model", "recipe", "baseline", "compressed", "fp32 bytes", "packed bytes",
               "ratio", "weights left", "bits/weight", "seconds")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column in ("model", "recipe") else "right")
    for r in document["models"]:
        table.add_row(
            r["model"], r["recipe"], f"{r['baseline_accuracy']:.2%}", f"{r['accuracy']:.2%}",
            f"{r['bytes_before']:,}", f"{r['bytes_after']:,}", f"{r['ratio']:.1f}x",
            f"{r['weights_remaining']:.1%}", f"{r['bits_per_weight']:.2f}", f"{r['seconds']:.0f}",
        )  # fmt: skip
    Console(width=140).print(table)


if __name__ == "__main__":
    sys.exit(main())
