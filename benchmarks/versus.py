"""thrifty against what a user would otherwise pick, side by side in one run.

For LeNet-300-100, LeNet-5 and MLP-2048 on Fashion-MNIST (baselines trained once, cached in
out/bench/), five ways to serve the same model, each measured on this machine on the 10,000
test images and priced with one pricing profile and the default workload:

- ``torch-fp32``: PyTorch eager (the graph as a PyTorch module), every core;
- ``ort-fp32``: the fp32 ONNX file in ONNX Runtime, every core;
- ``ort-int8-dynamic``: ONNX Runtime's ``quantize_dynamic`` with its defaults;
- ``ort-int8-static``: ONNX Runtime's ``quant_pre_process`` then ``quantize_static`` with its
  defaults, calibrated on 512 training images;
- ``thrifty``: ``th.optimize(max_drop=0.5)`` by money, as it chose to run it.

Bytes are the file each ships (PyTorch's are the same fp32 weights: the ONNX file is counted).

The peers run at their runtimes' default of every core, as a user who does not tune them
would; each is also measured at one thread (``dollars_per_million_one_thread``) for the
stricter comparison. Each entry's cost is the median of ``--rounds`` rounds taken in
alternating order. The pricing profile is ``same-zone`` unless ``--pricing`` says otherwise:
with the network free, the bill is compute and storage, which is what a model's own cost is;
under the internet profile the answers' transfer is most of a small model's bill whatever the
model (the table under it shows the same models priced that way).

    python benchmarks/versus.py [--json] [--models ...] [--time-budget 1200] [--pricing same-zone]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from unittest.mock import patch

import numpy as np

import thrifty as th
from _common import CACHE, baseline, cpu, machine_line
from thrifty.measure import Bill, Workload, load_pricing

MODELS = ("lenet-300-100", "lenet-5", "mlp-2048")
NAMES = ("torch-fp32", "ort-fp32", "ort-int8-dynamic", "ort-int8-static", "thrifty")
MAX_DROP = 0.5  # accuracy points: the budget thrifty searches within, and peers are held to
CALIBRATION_ROWS, CALIBRATION_BATCH = 512, 64


def peers(name: str, model: th.Model, data) -> dict[str, tuple[th.Model, str]]:
    """The four ways a user would serve the model without thrifty: (model, runtime) by name."""
    folder = CACHE / "versus" / name
    folder.mkdir(parents=True, exist_ok=True)
    fp32 = folder / "fp32.onnx"
    model.save(fp32)
    return {
        "torch-fp32": (model, "torch"),
        "ort-fp32": (model, "onnxruntime"),
        "ort-int8-dynamic": (th.load(_dynamic(fp32, folder)), "onnxruntime"),
        "ort-int8-static": (th.load(_static(fp32, folder, data)), "onnxruntime"),
    }


def _dynamic(fp32: Path, folder: Path) -> Path:
    from onnxruntime.quantization import quantize_dynamic

    out = folder / "int8-dynamic.onnx"
    quantize_dynamic(fp32, out)
    return out


def _static(fp32: Path, folder: Path, data) -> Path:
    from onnxruntime.quantization import CalibrationDataReader, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    model_input = th.load(fp32).input_name

    class Images(CalibrationDataReader):
        def __init__(self) -> None:
            x = data.train.x[:CALIBRATION_ROWS]
            self.batches = iter(
                {model_input: x[i : i + CALIBRATION_BATCH]}
                for i in range(0, len(x), CALIBRATION_BATCH)
            )

        def get_next(self):
            return next(self.batches, None)

    prepared, out = folder / "fp32-prepared.onnx", folder / "int8-static.onnx"
    quant_pre_process(fp32, prepared)
    quantize_static(prepared, out, Images())
    return out


def thrifty_best(name: str, model: th.Model, data, pricing, budget: float):
    """thrifty's choice within the budget: the packed model and how it runs. The search starts
    from an empty measurement cache, so that the budget is all the work it did."""
    with (
        tempfile.TemporaryDirectory(prefix="thrifty-versus-") as cache,
        patch.dict(os.environ, {"THRIFTY_CACHE": cache}),
    ):
        found = th.optimize(
            model, data, MAX_DROP, pricing=pricing, time_budget=budget, out=CACHE / "versus" / name
        )
        best = found.best
        return th.unpack(best.path), best.deployment, found


def measure(entries: dict, data, pricing, workload, rounds: int) -> dict[str, dict]:
    """Each entry's accuracy, bytes and median cost over ``rounds`` rounds in alternating order;
    peers also at one thread."""
    costs: dict[str, list] = {key: [] for key in entries}
    order = list(entries)
    for round_ in range(rounds):
        for key in order if round_ % 2 == 0 else order[::-1]:
            model, runtime, threads = entries[key]
            costs[key].append(
                th.profile(model, data, runtime=runtime, threads=threads, timing_budget_s=0.5)
            )
    return {key: _summary(costs[key], pricing, workload) for key in entries}


def _summary(costs: list, pricing, workload) -> dict:
    bills = [Bill.of(cost, pricing, workload) for cost in costs]
    median = statistics.median(bill.usd_per_million for bill in bills)
    cost = costs[0]
    return {
        "accuracy": cost.quality.value,
        "dollars_per_million": median,
        "bytes": cost.storage.bytes,
        "runtime": cost.compute.runtime,
        "threads": cost.compute.threads,
        "batch_size": cost.compute.throughput.batch_size,
        "costs": costs,
    }


def run(name: str, data, pricing, internet, workload, budget: float, rounds: int) -> dict:
    model = baseline(name, data)
    packed, deployment, found = thrifty_best(name, model, data, pricing, budget)
    entries = {key: (m, runtime, None) for key, (m, runtime) in peers(name, model, data).items()}
    entries |= {f"{key} (1 thread)": (m, runtime, 1) for key, (m, runtime, _) in entries.items()}
    entries["thrifty"] = (packed, deployment.runtime, deployment.threads)
    measured = measure(entries, data, pricing, workload, rounds)
    rows = []
    for key in NAMES:
        entry = measured[key]
        row = {k: v for k, v in entry.items() if k != "costs"}
        if key != "thrifty":
            one = measured[f"{key} (1 thread)"]
            row["dollars_per_million_one_thread"] = one["dollars_per_million"]
        row["dollars_per_million_internet"] = statistics.median(
            Bill.of(cost, internet, workload).usd_per_million for cost in entry["costs"]
        )
        rows.append({"name": key, **row})
    return {
        "model": name,
        "fp32_onnx_bytes": len(model.to_bytes()),
        "thrifty_recipe": str(found.best.trial.recipe),
        "candidates_tried": len(found.candidates),
        "entries": rows,
        **verdict(rows, len(model.to_bytes())),
    }


def verdict(rows: list[dict], fp32_bytes: int) -> dict:
    """thrifty against the cheapest peer within the budget, by default threads and by one."""
    by_name = {row["name"]: row for row in rows}
    fp32 = by_name["ort-fp32"]["accuracy"]
    ours = by_name["thrifty"]
    fair = [r for r in rows if r["name"] != "thrifty" and (fp32 - r["accuracy"]) * 100 <= MAX_DROP]
    cheapest = min(fair, key=lambda r: r["dollars_per_million"])
    strict = min(fair, key=lambda r: r["dollars_per_million_one_thread"])
    return {
        "cheapest_peer": cheapest["name"],
        "cheaper_than_peer": cheapest["dollars_per_million"] / ours["dollars_per_million"],
        "cheaper_than_peer_one_thread": strict["dollars_per_million_one_thread"]
        / ours["dollars_per_million"],
        "fewer_bytes_than_fp32": fp32_bytes / ours["bytes"],
        "within_budget": (fp32 - ours["accuracy"]) * 100 <= MAX_DROP + 1e-9,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object, nothing else")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated zoo models")
    parser.add_argument("--time-budget", type=float, default=1200, help="seconds of search each")
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each entry")
    parser.add_argument("--pricing", default="same-zone", help="pricing profile: name or TOML")
    args = parser.parse_args()
    names = [n for n in args.models.split(",") if n]
    unknown = sorted(set(names) - set(MODELS))
    if unknown:
        parser.error(f"unknown models {unknown}: choose from {', '.join(MODELS)}")
    data = th.datasets.load("fashion-mnist")
    pricing, internet, workload = load_pricing(args.pricing), load_pricing("internet"), Workload()
    document = {
        "cpu": cpu(),
        "pricing": pricing.name,
        "workload": vars(workload),
        "models": [
            run(name, data, pricing, internet, workload, args.time_budget, args.rounds)
            for name in names
        ],
    }
    if args.json:
        print(json.dumps(document, indent=2, default=_plain))
    else:
        show(document)
    return 0


def _plain(value):
    return value.item() if isinstance(value, np.generic) else str(value)


def show(document: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=150)
    for model in document["models"]:
        table = Table(
            title=f"{model['model']} on Fashion-MNIST: $ per million inferences "
            f"({document['pricing']}), accuracy on 10,000 test images, bytes shipped",
            caption=f"thrifty: {model['thrifty_recipe']} ({model['candidates_tried']} candidates); "
            f"{model['cheaper_than_peer']:.2f}x cheaper than {model['cheapest_peer']} "
            f"({model['cheaper_than_peer_one_thread']:.2f}x than the cheapest peer at one thread), "
            f"{model['fewer_bytes_than_fp32']:.1f}x fewer bytes than the fp32 ONNX file",
        )
        for column in ("entry", "accuracy", "$ / million", "$ / million, 1 thread",
                       "$ / million, internet", "bytes", "runs as"):  # fmt: skip
            table.add_column(column, justify="left" if column == "entry" else "right")
        for row in model["entries"]:
            one = row.get("dollars_per_million_one_thread")
            table.add_row(
                row["name"], f"{row['accuracy']:.2%}", f"${row['dollars_per_million']:.6f}",
                "" if one is None else f"${one:.6f}",
                f"${row['dollars_per_million_internet']:.6f}", f"{row['bytes']:,}",
                f"{row['runtime']}, {row['threads']} thread(s), batch {row['batch_size']}",
            )  # fmt: skip
        console.print(table)
    console.print(machine_line())


if __name__ == "__main__":
    sys.exit(main())
