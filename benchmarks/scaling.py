"""Parallel batch prediction: does throughput grow with workers as O(n/k) says, does Ray on one
node keep up with the local pool, and does memory stay flat as the input grows?

1. MLP-2048 (Fashion-MNIST shape, 784 inputs) on ONNX Runtime, one thread per worker, over
   200,000 rows from a .npy: rows/s at 1..cores workers, against the ideal k x rows/s(1); efficiency
   is rows/s(k) / (k x rows/s(1)).
2. MLP-2048 over 1,000,000 rows (a 3 GB .npy): the Ray backend (a local Ray instance, started
   before timing, as a cluster would be) against the local pool, same workers, one thread
   each; local is the mean of a run before and a run after Ray.
3. Peak memory (RSS of the job's process tree, sampled every 20 ms) predicting 100,000 and
   1,000,000 rows of the tabular MLP in a fresh process each.

Times are whole jobs (th.predict from call to return: pool start, model load, every shard
committed), written as a folder of shard files: the optional last step of gathering them into
one file is left out, as it is the same for every number of workers.

    python benchmarks/scaling.py [--json] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import thrifty as th
from _common import cpu, machine_line
from thrifty.predict.session import available_cores

BATCH = 256


def mlp(name: str, width: int, classes: int, folder: Path) -> Path:
    path = folder / f"{name}.onnx"
    th.load(th.models.build(name, (width,), classes), input_shape=(width,)).save(path)
    return path


def rows_file(folder: Path, count: int, width: int) -> Path:
    path = folder / f"x-{count}-{width}.npy"
    rng = np.random.default_rng(0)
    array = np.lib.format.open_memmap(path, "w+", np.float32, (count, width))
    for start in range(0, count, 100_000):
        stop = min(start + 100_000, count)
        array[start:stop] = rng.standard_normal((stop - start, width), dtype=np.float32)
    array.flush()
    return path


def scaling(folder: Path, rows: int) -> list[dict]:
    model, x = mlp("mlp-2048", 784, 10, folder), rows_file(folder, rows, 784)
    points = []
    for workers in range(1, available_cores() + 1):
        done = th.predict(
            model, x, folder / f"scaling-{workers}",
            workers=workers, threads=1, batch_size=BATCH,
        )  # fmt: skip
        points.append({"workers": workers, "rows_per_s": done.rows_per_s})
    return points


def ray_against_local(folder: Path, count: int) -> dict:
    model, x = folder / "mlp-2048.onnx", rows_file(folder, count, 784)
    workers = available_cores()
    warm = rows_file(folder, 1_000, 784)  # starts the Ray instance before anything is timed
    th.predict(model, warm, folder / "warm.parquet", workers=workers, cluster="local")
    rates = {}
    for backend, cluster in (("local", None), ("ray", "local"), ("local again", None)):
        done = th.predict(
            model, x, folder / backend.replace(" ", "-"),
            workers=workers, threads=1, batch_size=BATCH, cluster=cluster,
        )  # fmt: skip
        rates[backend] = done.rows_per_s
    local = (rates["local"] + rates["local again"]) / 2  # before and after Ray
    ray = rates["ray"]
    return {
        "ray_rows": count, "ray_rows_per_s": ray, "local_rows_per_s": local,
        "ray_over_local": ray / local,
    }  # fmt: skip


def peak_rss(folder: Path, count: int) -> int:
    """Peak summed RSS of a fresh process predicting ``count`` rows, and its workers."""
    import psutil

    model, x = mlp("tabular-mlp", 30, 2, folder), rows_file(folder, count, 30)
    script = (
        "import thrifty as th\n"
        "if __name__ == '__main__':\n"
        f"    th.predict({str(model)!r}, {str(x)!r}, {str(folder / f'rss-{count}.parquet')!r}, "
        f"threads=1, batch_size={BATCH})\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script])
    root, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree))
        except psutil.Error:
            pass
        time.sleep(0.02)
    if process.returncode:
        raise SystemExit(f"the {count}-row job failed")
    return peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object, nothing else")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply every row count (tests: 0.01)"
    )
    args = parser.parse_args()
    sweep, million, small = (int(n * args.scale) for n in (200_000, 1_000_000, 100_000))
    with tempfile.TemporaryDirectory(prefix="thrifty-scaling-") as name:
        folder = Path(name)
        points = scaling(folder, sweep)
        ray = ray_against_local(folder, million)
        rss_small, rss_large = peak_rss(folder, small), peak_rss(folder, 10 * small)
    one = points[0]["rows_per_s"]
    document = {
        "cpu": cpu(),
        "cores": available_cores(),
        "points": points,
        "efficiency_at_cores": points[-1]["rows_per_s"] / (points[-1]["workers"] * one),
        **ray,
        "peak_rss_small": rss_small,
        "peak_rss_large": rss_large,
    }
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        show(document)
    return 0


def show(d: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=110)
    one = d["points"][0]["rows_per_s"]
    table = Table(title=f"MLP-2048 on ONNX Runtime, 1 thread per worker, {d['cores']} cores")
    for column in ("workers", "rows/s", "ideal k x rows/s(1)", "efficiency"):
        table.add_column(column, justify="right")
    for p in d["points"]:
        k = p["workers"]
        table.add_row(
            str(k),
            f"{p['rows_per_s']:,.0f}",
            f"{k * one:,.0f}",
            f"{p['rows_per_s'] / (k * one):.0%}",
        )
    console.print(table)
    console.print(
        f"efficiency at {d['cores']} workers: {d['efficiency_at_cores']:.0%} (target >= 90%)\n"
        f"MLP-2048, {d['ray_rows']:,} rows: Ray {d['ray_rows_per_s']:,.0f} rows/s, local "
        f"{d['local_rows_per_s']:,.0f} rows/s: {d['ray_over_local']:.2f}x (target >= 0.85x)\n"
        f"peak RSS: {d['peak_rss_small'] / 2**20:,.0f} MiB for the small input, "
        f"{d['peak_rss_large'] / 2**20:,.0f} MiB for 10 times as many rows "
        f"({d['peak_rss_large'] / d['peak_rss_small'] - 1:+.0%}; target within 20%)"
    )
    console.print(machine_line())


if __name__ == "__main__":
    sys.exit(main())
