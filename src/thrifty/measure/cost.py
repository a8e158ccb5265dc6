"""``Cost``: what one model costs to run, store and ship, and how good it is, as measured."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from thrifty.measure.counts import Layer
from thrifty.measure.quality import Quality
from thrifty.measure.timing import Latency, Throughput


@dataclass(frozen=True)
class Compute:
    runtime: str
    device: str
    threads: int  # the cores one inference stream used; compute money is paid per core
    latency: Latency
    throughput: Throughput
    peak_memory_bytes: int  # highest resident memory seen above the start, load and run
    macs_per_sample: int
    sparse_layers: tuple[str, ...] = ()  # layers run as sparse matrices (runtime torch-sparse)

    @property
    def core_seconds_per_inference(self) -> float:
        return self.threads / self.throughput.samples_per_s


@dataclass(frozen=True)
class Storage:
    bytes: int  # the artifact as stored
    params: int
    format: str  # "onnx", or "thrifty" for a model loaded from a packed file


@dataclass(frozen=True)
class Bandwidth:
    bytes_to_ship: int  # moved to every replica at every deploy
    request_bytes: int  # one input row as float32 on the wire
    response_bytes: int  # one output row as float32 on the wire


@dataclass(frozen=True)
class Cost:
    model: str
    compute: Compute
    storage: Storage
    bandwidth: Bandwidth
    quality: Quality
    layers: list[Layer] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Every number, for JSON; FLOPs are written out next to MACs."""
        out = asdict(self)
        out["compute"]["flops_per_sample"] = 2 * self.compute.macs_per_sample
        out["compute"]["core_seconds_per_inference"] = self.compute.core_seconds_per_inference
        out["compute"]["throughput"]["by_batch"] = {
            str(k): v for k, v in self.compute.throughput.by_batch.items()
        }
        out["layers"] = [{**asdict(layer), "flops": layer.flops} for layer in self.layers]
        return out
