"""PyTorch eager against ONNX Runtime, fp32 on the CPU, for each model of thrifty's zoo.

For each model it builds the zoo network (seeded, untrained: fp32 speed does not depend on the
weights' values), exports it to ONNX, and opens a PyTorch session on the module and an ONNX
Runtime session on the graph, both on the CPU with the same number of threads. Both are fed the
same test rows (Fashion-MNIST images for the LeNets and mlp-2048, breast-cancer rows for
tabular-mlp). Each measurement is thrifty's ``measure_throughput``: samples per second at the
best of batch sizes 1 to 512. The two runtimes take turns for ``--rounds`` rounds (order reversed
each round) so the machine's noise falls on both alike; the table shows the median round.

How to read it: each cell is samples/s @ that runtime's own best batch size ± the spread,
(max - min) / median over the rounds; ``ort/torch`` above 1 means ONNX Runtime serves more
samples per second than PyTorch. A ratio closer to 1 than the spreads is no difference. On a busy
machine (the table says so) the numbers mean little: PyTorch's OpenMP threads suffer most when
other processes take their cores, so prefer an idle machine, or ``--threads 1``.

    python benchmarks/runtimes.py                    # a table
    python benchmarks/runtimes.py --json --threads 1 --models lenet-5,tabular-mlp
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from _common import MODEL_DATA, cpu, datasets, interleaved, machine_line, rows
from thrifty.errors import ThriftyError
from thrifty.models.export import from_module
from thrifty.models.zoo import build
from thrifty.predict import available_cores, open_session


def measure(names: list[str], *, threads: int, budget_s: float, rounds: int, status) -> list[dict]:
    data = datasets(names)
    results = []
    for name in names:
        dataset = data[MODEL_DATA[name]]
        status(f"{name}: building and exporting")
        module = build(
            name, dataset.input_shape, dataset.num_classes, steps=dataset.training_steps, seed=0
        )
        model = from_module(module, dataset.input_shape, name=name)
        sessions = {
            "torch": open_session(model, "torch", device="cpu", threads=threads),
            "ort": open_session(model, "onnxruntime", device="cpu", threads=threads),
        }
        status(f"{name}: measuring, {rounds} rounds of torch and onnxruntime in turn")
        m = interleaved(sessions, rows(dataset), rounds=rounds, budget_s=budget_s)
        results.append(
            {
                "model": name,
                "torch_samples_per_s": m["torch"].samples_per_s,
                "ort_samples_per_s": m["ort"].samples_per_s,
                "ort_over_torch": m["ort"].samples_per_s / m["torch"].samples_per_s,
                "torch_batch": m["torch"].batch_size,
                "ort_batch": m["ort"].batch_size,
                "torch_spread": m["torch"].spread,
                "ort_spread": m["ort"].spread,
            }
        )
    return results


def show(document: dict, *, rounds: int, load: float) -> None:
    import onnxruntime
    import torch
    from rich.console import Console
    from rich.table import Table

    caption = (
        "Untrained (seeded) weights: fp32 speed does not depend on their values. LeNets and "
        "mlp-2048 on Fashion-MNIST test images, tabular-mlp on breast-cancer rows. samples/s: "
        f"median of {rounds} interleaved rounds, @ each runtime's best batch size, ± (max - min) "
        f"/ median over the rounds. torch {torch.__version__}, onnxruntime "
        f"{onnxruntime.__version__}."
    )
    if load > available_cores() / 2:
        caption += (
            f" [bold red]Busy machine: load average {load:.1f} on {available_cores()} cores "
            "before the run; other processes skew these numbers, PyTorch's threads the most.[/]"
        )
    threads = document["threads"]
    table = Table(
        title=f"PyTorch eager vs ONNX Runtime: fp32, CPU, {threads} threads", caption=caption
    )
    for column in ("model", "torch samples/s", "ort samples/s", "ort/torch"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for r in document["models"]:
        torch_, ort = (
            f"{r[f'{k}_samples_per_s']:,.0f} @{r[f'{k}_batch']} ±{r[f'{k}_spread']:.0%}"
            for k in ("torch", "ort")
        )
        table.add_row(r["model"], torch_, ort, f"{r['ort_over_torch']:.2f}x")
    Console().print(table)
    Console().print(machine_line())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object, nothing else")
    parser.add_argument(
        "--threads",
        type=int,
        default=available_cores(),
        help="threads for both runtimes (default: all cores, %(default)s here)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=0.1,
        metavar="SECONDS",
        help="seconds per timed measurement (default %(default)s)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved rounds per runtime (default %(default)s)"
    )
    parser.add_argument(
        "--models",
        default=",".join(MODEL_DATA),
        help="comma-separated zoo models (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.models.split(",") if name.strip()]
    unknown = [name for name in names if name not in MODEL_DATA]
    if unknown or not names:
        choices = ", ".join(MODEL_DATA)
        parser.error(f"unknown models {unknown or args.models!r}: choose from {choices}")
    if args.threads < 1 or args.rounds < 1 or args.budget <= 0:
        parser.error("--threads and --rounds must be at least 1, --budget above 0")

    from rich.console import Console

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    console = Console(stderr=True, quiet=args.json)
    try:
        with console.status("starting") as spinner:
            models = measure(
                names,
                threads=args.threads,
                budget_s=args.budget,
                rounds=args.rounds,
                status=spinner.update,
            )
    except ThriftyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    document = {"cpu": cpu(), "threads": args.threads, "models": models}
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        show(document, rounds=args.rounds, load=load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
