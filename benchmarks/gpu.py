"""Prediction on the CPU against a CUDA GPU, side by side in one run (benchmarks/gpu_check.sh).

MLP-2048 over N rows (784 inputs): the local pool on every core (ONNX Runtime, one thread a
worker), then PyTorch on the GPU in fp32 and in the precision ``auto`` picks (bf16 or fp16
under autocast), then the same rows as a CuPy array already on the GPU (read through DLPack, not
copied), then ONNX Runtime's CUDA provider where it is installed. Whole jobs, folder outputs.
Without a GPU it says so and prints the CPU figure alone.

    python benchmarks/gpu.py [--json] [--rows 200000]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
from pathlib import Path

import torch

import thrifty as th
from _common import cpu, machine_line
from scaling import mlp, rows_file
from thrifty.predict.session import available_cores


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object, nothing else")
    parser.add_argument("--rows", type=int, default=200_000, help="rows to predict")
    args = parser.parse_args()
    runs = [("cpu", "onnxruntime", "fp32", {"threads": 1})]
    if torch.cuda.is_available():
        runs += [("cuda", "torch", "fp32", {}), ("cuda", "torch", "auto", {})]
        if importlib.util.find_spec("cupy"):
            runs.append(("cuda", "torch", "auto", {"cupy": True}))
        import onnxruntime

        if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
            runs.append(("cuda", "onnxruntime", "fp32", {}))
    rows = []
    with tempfile.TemporaryDirectory(prefix="thrifty-gpu-") as name:
        folder = Path(name)
        model, x = mlp("mlp-2048", 784, 10, folder), rows_file(folder, args.rows, 784)
        for device, runtime, precision, extra in runs:
            source = _on_gpu(x) if extra.pop("cupy", False) else x
            done = th.predict(
                model, source, folder / f"{device}-{runtime}-{precision}", device=device,
                runtime=runtime, precision=precision, batch_size=2048, **extra,
            )  # fmt: skip
            rows.append(
                {"device": device, "runtime": runtime, "precision": precision,
                 "input": "npy file" if source is x else "cupy array",
                 "workers": done.workers, "rows_per_s": done.rows_per_s}
            )  # fmt: skip
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    document = {"cpu": cpu(), "cores": available_cores(), "gpu": gpu, "runs": rows}
    if args.json:
        print(json.dumps(document, indent=2))
        return 0
    print(f"{args.rows:,} rows of MLP-2048; {available_cores()} cores; GPU: {gpu or 'none here'}")
    print(machine_line())
    on_cpu = rows[0]["rows_per_s"]
    for r in rows:
        print(
            f"  {r['device']:5} {r['runtime']:12} {r['precision']:5} {r['input']:10} "
            f"x{r['workers']}: "
            f"{r['rows_per_s']:>12,.0f} rows/s  ({r['rows_per_s'] / on_cpu:.2f}x the CPU)"
        )
    return 0


def _on_gpu(path: Path):
    """The rows as a CuPy array in GPU memory (copied there before the clock starts)."""
    import cupy
    import numpy as np

    return cupy.asarray(np.load(path))


if __name__ == "__main__":
    sys.exit(main())
