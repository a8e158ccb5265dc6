"""How a candidate is best run: each runtime (ONNX Runtime, OpenVINO, PyTorch, PyTorch with
mostly-zero layers as sparse matrices) at one thread and at every core, measured on the test
split; the batch size is the one each measurement found fastest. The cheapest by the search's
objective is chosen.

Compute is paid per core-second, so a single thread at a large batch is usually cheapest;
latency wants every core. Runtimes that cannot run a graph (PyTorch on integer operators,
OpenVINO on an operator its ONNX reader lacks) are skipped, and so is the sparse path when no
layer is mostly zeros. Each option's quality is its own runtime's: OpenVINO runs QDQ graphs on
its own integer kernels, and integer matrix products (``MatMulInteger``) as float ones, so its
scores differ slightly from ONNX Runtime's.
"""

from __future__ import annotations

from typing import Any

from thrifty.errors import ModelError, RuntimeUnavailable
from thrifty.predict.session import available_cores

TIMING_BUDGET_S = 0.15  # each probe of each option; the test split's quality is measured whole
ANY_GRAPH = ("onnxruntime", "openvino")  # the runtimes of integer and float16 graphs too


def options(deployed, tensors: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """(runtime, threads) pairs worth measuring for a model with these packed tensors: PyTorch
    only for float32 graphs (``ANY_GRAPH`` alone runs integer and float16 ones)."""
    from onnx import TensorProto

    from thrifty.predict.sparse import MOSTLY_ZEROS

    runtimes = list(ANY_GRAPH)
    if all(t.data_type == TensorProto.FLOAT for t in deployed.proto.graph.initializer
           if t.data_type in (TensorProto.FLOAT, TensorProto.FLOAT16)):  # fmt: skip
        runtimes.append("torch")
        if any(t["sparsity"] >= MOSTLY_ZEROS and len(t["shape"]) == 2 for t in tensors):
            runtimes.append("torch-sparse")
    counts = sorted({1, available_cores()})
    return [(runtime, threads) for runtime in runtimes for threads in counts]


def measure_options(deployed, data, tensors, pricing, workload) -> list[dict[str, Any]]:
    """Every option that runs, with its quality, speed and bill."""
    from thrifty.measure import Bill, profile

    measured = []
    for runtime, threads in options(deployed, tensors):
        try:
            cost = profile(
                deployed, data, split="test", runtime=runtime, threads=threads,
                timing_budget_s=TIMING_BUDGET_S,
            )  # fmt: skip
        except (ModelError, RuntimeUnavailable):  # this runtime cannot run this graph
            continue
        bill = Bill.of(cost, pricing, workload)
        compute = cost.compute
        measured.append({
            "runtime": runtime, "threads": threads, "device": compute.device,
            "batch_size": compute.throughput.batch_size,
            "samples_per_s": compute.throughput.samples_per_s,
            "latency_ms": compute.latency.p50_ms, "test": cost.quality.value,
            "usd_per_million": bill.usd_per_million, "bill": bill.to_dict(),
            "sparse_layers": list(compute.sparse_layers), "cost": cost,
        })  # fmt: skip
    return measured


def cheapest(measured: list[dict[str, Any]], objective: str) -> dict[str, Any]:
    """The option that costs least by ``objective`` (size does not depend on how it runs)."""
    key = {
        "money": lambda o: o["usd_per_million"],
        "latency": lambda o: o["latency_ms"],
        "bandwidth": lambda o: o["bill"]["bandwidth_usd"],
        "size": lambda o: o["usd_per_million"],
    }[objective]
    return min(measured, key=key)
