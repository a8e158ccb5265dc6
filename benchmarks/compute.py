"""What structured pruning and int8 buy in compute: throughput and accuracy, side by side.

For LeNet-5 and MLP-2048 on Fashion-MNIST (baselines trained once, cached in out/bench/), three
deployable variants, each run in ONNX Runtime on the CPU with the same threads and rows:

- ``fp32``: the baseline as exported;
- ``int8-static``: ONNX Runtime's static int8 quantization alone (calibrated, per-channel, QDQ);
- ``channels+int8``: half of every hidden layer's channels removed (Torch-Pruning), recovery
  fine-tuning, then the same int8 quantization.

Throughput is samples/s at each variant's best batch size, median of interleaved rounds (see
benchmarks/runtimes.py); accuracy is on the 10,000 test images.

    python benchmarks/compute.py [--json] [--models lenet-5,mlp-2048]
"""

from __future__ import annotations

import argparse
import json
import sys

import thrifty as th
from _common import CACHE, baseline, cpu, interleaved, machine_line, rows
from thrifty.compress import FineTune
from thrifty.predict import available_cores, open_session

MODELS = ("lenet-5", "mlp-2048")
VARIANTS = {
    "fp32": None,
    "int8-static": "quantize:int8-static",
    "channels+int8": "channels:0.5,quantize:int8-static",
}


def run(name: str, data, *, threads: int, rounds: int, budget_s: float) -> dict:
    trainable = baseline(name, data)
    models = {
        variant: trainable
        if recipe is None
        else th.compress(trainable, recipe, data, finetune=FineTune())
        for variant, recipe in VARIANTS.items()
    }
    sessions = {v: open_session(m, device="cpu", threads=threads) for v, m in models.items()}
    speed = interleaved(sessions, rows(data), rounds=rounds, budget_s=budget_s)
    entries = []
    for variant, model in models.items():
        accuracy = th.profile(model, data, timing_budget_s=0.05).quality.value
        entries.append(
            {
                "name": variant,
                "accuracy": accuracy,
                "bytes": len(model.to_bytes()),
                "samples_per_s": speed[variant].samples_per_s,
                "spread": speed[variant].spread,
            }
        )
    fp32 = entries[0]["samples_per_s"]
    for entry in entries:
        entry["speedup"] = entry["samples_per_s"] / fp32
    return {"model": name, "threads": threads, "entries": entries}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object, nothing else")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated zoo models")
    parser.add_argument("--threads", type=int, default=available_cores())
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--budget", type=float, default=0.2, metavar="SECONDS")
    args = parser.parse_args()
    names = [n for n in args.models.split(",") if n]
    if set(names) - set(MODELS):
        parser.error(f"choose models from {', '.join(MODELS)}")
    CACHE.mkdir(parents=True, exist_ok=True)
    data = th.datasets.load("fashion-mnist")
    document = {
        "cpu": cpu(),
        "models": [
            run(n, data, threads=args.threads, rounds=args.rounds, budget_s=args.budget)
            for n in names
        ],
    }
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        show(document)
    return 0


def show(document: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="compute: ONNX Runtime on the CPU, same threads and rows")
    for column in ("model", "variant", "accuracy", "bytes", "samples/s", "vs fp32"):
        table.add_column(column, justify="left" if column in ("model", "variant") else "right")
    for model in document["models"]:
        for e in model["entries"]:
            table.add_row(
                model["model"],
                e["name"],
                f"{e['accuracy']:.2%}",
                f"{e['bytes']:,}",
                f"{e['samples_per_s']:,.0f} ±{e['spread']:.0%}",
                f"{e['speedup']:.2f}x",
            )
    Console(width=120).print(table)
    Console(width=120).print(machine_line())


if __name__ == "__main__":
    sys.exit(main())
