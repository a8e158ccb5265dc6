"""How close pack's entropy coding comes to the entropy bound, and how fast unpack decodes.

Compresses LeNet-300-100 by ``RECIPE`` (gradual pruning, then k-means weight sharing, with
recovery fine-tuning; the baseline is trained on Fashion-MNIST once and cached in out/bench/),
packs it, and looks at what pack made of it. The recipe is fixed: what is measured here is how
well pack codes a pruned, shared model, not the accuracy it keeps (benchmarks/compression.py
finds the recipe within a budget). ``--quick`` does the same with scikit-learn's digits and a
small tabular MLP trained for a few epochs (seconds: what the tests run).

For every symbol stream in the packed file (sparse positions, codebook indices) it prints the
coded bytes, with and without the frequency table, against the stream's order-0 empirical
entropy, count x H / 8 bytes, where H = -sum p log2 p over the stream's own symbol frequencies.
``worst_overhead`` is the target's measure: the code alone (the table is stated apart), over
the entropy-coded streams (rans, zstd, enumerative; zstd's frame counts as code). Then the
unpack speed: decoded weight bytes per second of ``thrifty.unpack``, median of 5 runs.

    python benchmarks/pack.py [--json] [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import thrifty as th
from _common import CACHE, baseline, cpu, machine_line, quick_baseline
from thrifty.compress import FineTune
from thrifty.pack.coders import decode_stream
from thrifty.pack.reader import read_header

RECIPE = "prune:0.94,share:5"
QUICK_EPOCHS = 3  # --quick: the tabular MLP's training and each fine-tuning run, at most


def compressed(quick: bool) -> tuple[th.Model, th.Model]:
    """The dense model and its compressed version: LeNet-300-100 on Fashion-MNIST with
    thrifty's default fine-tuning, or (``quick``) a tabular MLP on digits, briefly trained."""
    if not quick:
        data = th.datasets.load("fashion-mnist")
        dense = baseline("lenet-300-100", data)
        return dense, th.compress(dense, RECIPE, data, finetune=FineTune())
    data = th.datasets.load("digits")
    dense = quick_baseline(data, QUICK_EPOCHS)
    return dense, th.compress(dense, RECIPE, data, finetune=FineTune(epochs=QUICK_EPOCHS))


def streams(path: Path) -> list[dict]:
    """Every symbol stream in the file: its coder, coded bytes and order-0 entropy in bytes."""
    data = path.read_bytes()
    header, start = read_header(data)
    rows = []
    for entry in header["tensors"]:
        record = data[start + entry["offset"] : start + entry["offset"] + entry["length"]]
        cursor = 0
        for part in ("positions", "values"):
            spec = entry.get(part)
            if spec is None or "alphabet" not in spec:
                continue
            cursor += spec.get("table_length", 0)
            payload = record[cursor : cursor + spec["length"]]
            symbols = decode_stream(spec, payload)
            cursor += spec["length"]
            rows.append(
                {
                    "tensor": f"{entry['name']} {part}",
                    "coder": spec["coder"],
                    "symbols": spec["count"],
                    "bytes": spec["length"],
                    "table_bytes": table_bytes(spec, payload),
                    "entropy_bytes": entropy_bytes(symbols),
                }
            )
    return rows


def table_bytes(spec: dict, payload: bytes) -> int:
    """Bytes of a stream's frequency table (its model): rans and enumerative have one."""
    if spec["coder"] not in ("rans", "enumerative"):
        return 0
    from thrifty.pack.coders.counts import read_counts

    return read_counts(payload, spec["alphabet"], spec["count"])[1]


def entropy_bytes(symbols: np.ndarray) -> float:
    counts = np.bincount(symbols.astype(np.int64))
    p = counts[counts > 0] / len(symbols)
    return float(-(p * np.log2(p)).sum() * len(symbols) / 8)


def unpack_speed(path: Path, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model = th.unpack(path)
        times.append(time.perf_counter() - start)
    decoded = sum(len(t.raw_data) for t in model.proto.graph.initializer)
    return decoded / float(np.median(times)) / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object, nothing else")
    parser.add_argument("--quick", action="store_true", help="a small model on digits: seconds")
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    dense, model = compressed(args.quick)
    path = CACHE / f"{dense.name}-for-pack.thrifty"
    th.pack(model, path)
    rows = streams(path)
    coded = [r for r in rows if r["coder"] != "bitpack"]
    keys = ("tensor", "bytes", "table_bytes", "entropy_bytes")
    document = {
        "streams": [{k: r[k] for k in keys} for r in coded],
        "worst_overhead": max(
            (r["bytes"] - r["table_bytes"]) / r["entropy_bytes"] - 1 for r in coded
        ),
        "worst_overhead_with_table": max(r["bytes"] / r["entropy_bytes"] - 1 for r in coded),
        "total_overhead": sum(r["bytes"] for r in coded) / sum(r["entropy_bytes"] for r in coded)
        - 1,
        "unpack_mb_per_s": unpack_speed(path),
        "onnx_bytes": len(dense.to_bytes()),
        "packed_bytes": path.stat().st_size,
        "model": dense.name,
        "cpu": cpu(),
    }
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        show(rows, document)
    return 0


def show(rows: list[dict], document: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title="pack: coded bytes against the order-0 entropy bound, per stream",
        caption=f"{document['model']} compressed by {RECIPE}. 'table': the "
        "stream's frequency table (its model); 'code' leaves it out. bitpack streams are not "
        "entropy-coded (it won where a table would cost more than it saves).",
    )
    columns = ("stream", "coder", "symbols", "bytes", "table", "bound", "code", "all")
    for column in columns:
        table.add_column(column, justify="left" if column in ("stream", "coder") else "right")
    for r in rows:
        bound = r["entropy_bytes"] or float("nan")
        code = (r["bytes"] - r["table_bytes"]) / bound - 1
        total = r["bytes"] / bound - 1
        table.add_row(
            r["tensor"], r["coder"], f"{r['symbols']:,}", f"{r['bytes']:,}",
            f"{r['table_bytes']:,}", f"{bound:,.0f}", f"{code:+.2%}", f"{total:+.2%}",
        )  # fmt: skip
    console = Console(width=110)
    console.print(table)
    ratio = document["onnx_bytes"] / document["packed_bytes"]
    console.print(
        f"entropy-coded streams: {document['total_overhead']:+.2%} over the bound in all; worst "
        f"{document['worst_overhead']:+.2%} for the code alone, "
        f"{document['worst_overhead_with_table']:+.2%} with its table; "
        f"file {document['packed_bytes']:,} bytes against {document['onnx_bytes']:,} for the "
        f"fp32 ONNX ({ratio:.1f}x); unpack {document['unpack_mb_per_s']:.0f} MB/s of weights"
    )
    console.print(machine_line())


if __name__ == "__main__":
    sys.exit(main())
