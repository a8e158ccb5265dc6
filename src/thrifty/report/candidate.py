"""One candidate of an optimization, as its report keeps it: what was tried (the recipe as
written, the fine-tuning epochs), its quality on each split, its bytes, and every way it was run
with the monthly bill of each. ``to_json`` writes the objects docs/REPORT.md specifies and
``from_json`` reads them back; the optimizer builds its candidates the same way from its cache.

Nothing here imports a numeric library, as ``thrifty report`` reads these: the bill is a record
of what ``thrifty.measure.Bill`` computed (importing that package loads numpy), not that class.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from thrifty.datasets.metrics import Metric

Json = dict[str, Any]


@dataclass(frozen=True)
class Bill:
    """Money per month for one way of running a candidate, by category (docs/COST.md)."""

    compute_usd: float
    storage_usd: float
    bandwidth_usd: float
    usd_per_million: float  # the whole bill spread over the month's inferences, per million
    pricing: str  # the pricing profile's name

    @property
    def total_usd(self) -> float:
        return self.compute_usd + self.storage_usd + self.bandwidth_usd

    def to_json(self) -> Json:
        return {
            "compute_usd": self.compute_usd, "storage_usd": self.storage_usd,
            "bandwidth_usd": self.bandwidth_usd, "total_usd": self.total_usd,
            "usd_per_million": self.usd_per_million, "pricing": self.pricing,
        }  # fmt: skip

    @classmethod
    def from_json(cls, document: Json) -> Bill:
        """Also ``measure.Bill.to_dict()``, whose ``workload`` the report keeps once, in
        ``about``."""
        return cls(
            document["compute_usd"], document["storage_usd"], document["bandwidth_usd"],
            document["usd_per_million"], document["pricing"],
        )  # fmt: skip


@dataclass(frozen=True)
class Deployment:
    """One way a candidate runs (``optimize/deploy.py``), measured on the test split."""

    runtime: str  # "onnxruntime", "openvino", "torch" or "torch-sparse"
    threads: int
    device: str  # "cpu" or "cuda"
    batch_size: int  # the one its throughput measurement found fastest
    samples_per_s: float  # throughput at that batch size
    latency_ms: float  # p50 at batch 1
    test: float  # the quality metric on the test split, run this way
    bill: Bill
    sparse_layers: tuple[str, ...]  # the layers run as sparse matrices (torch-sparse)

    @property
    def usd_per_million(self) -> float:
        return self.bill.usd_per_million

    def to_json(self) -> Json:
        return {
            "runtime": self.runtime, "threads": self.threads, "device": self.device,
            "batch_size": self.batch_size, "samples_per_s": self.samples_per_s,
            "latency_ms": self.latency_ms, "test": self.test,
            "usd_per_million": self.usd_per_million, "bill": self.bill.to_json(),
            "sparse_layers": list(self.sparse_layers),
        }  # fmt: skip

    @classmethod
    def from_json(cls, document: Json) -> Deployment:
        return cls(
            runtime=document["runtime"], threads=document["threads"],
            device=document["device"], batch_size=document["batch_size"],
            samples_per_s=document["samples_per_s"], latency_ms=document["latency_ms"],
            test=document["test"], bill=Bill.from_json(document["bill"]),
            sparse_layers=tuple(document["sparse_layers"]),
        )  # fmt: skip


@dataclass(frozen=True)
class Layer:
    """A layer of the packed model: one that holds weights or multiplies."""

    name: str
    op: str  # the ONNX operator
    params: int
    flops: int  # per sample

    def to_json(self) -> Json:
        return {"name": self.name, "op": self.op, "params": self.params, "flops": self.flops}

    @classmethod
    def from_json(cls, document: Json) -> Layer:
        return cls(document["name"], document["op"], document["params"], document["flops"])


@dataclass(frozen=True)
class Tensor:
    """A weight tensor of the packed file, as ``thrifty inspect`` shows it, and its zeros."""

    name: str
    shape: tuple[int, ...]
    encoding: str  # e.g. "sparse bitmask/rans + codebook 32/rans" (docs/FORMAT.md)
    bytes: int
    bits_per_weight: float
    sparsity: float  # the share of its values that are zero

    def to_json(self) -> Json:
        return {
            "name": self.name, "shape": list(self.shape), "encoding": self.encoding,
            "bytes": self.bytes, "bits_per_weight": self.bits_per_weight,
            "sparsity": self.sparsity,
        }  # fmt: skip

    @classmethod
    def from_json(cls, document: Json) -> Tensor:
        return cls(
            document["name"], tuple(document["shape"]), document["encoding"], document["bytes"],
            document["bits_per_weight"], document["sparsity"],
        )  # fmt: skip


@dataclass(frozen=True)
class Candidate:
    """A candidate measured as deployed: compressed by its recipe, fine-tuned, packed, unpacked
    and run each way worth trying; ``deployment`` is the cheapest of them by the search's
    objective, and its test quality, latency and bill are the candidate's."""

    recipe: str  # as written: "prune:0.9,quantize:int8-static"; "" for the model as it is
    epochs: int  # fine-tuning after each technique that fine-tunes
    validation: float  # the quality metric on the validation split: what the search decides by
    metric: str  # as written: "accuracy", "recall:malignant", "rmse", ... (datasets.metrics)
    bytes: int  # the packed .thrifty file: what storage and shipping pay for
    seconds: float  # compressing and measuring it, the first time
    path: Path  # the packed file, in the cache
    cut_short: bool  # the time budget ended its fine-tuning early (so it is not cached)
    deployment: Deployment
    deployments: tuple[Deployment, ...]  # every way measured, ``deployment`` among them
    layers: tuple[Layer, ...]
    tensors: tuple[Tensor, ...]

    @property
    def test(self) -> float:
        """The quality metric on the test split (reported, never used to choose)."""
        return self.deployment.test

    @property
    def usd_per_million(self) -> float:
        return self.deployment.usd_per_million

    @property
    def latency_ms(self) -> float:
        return self.deployment.latency_ms

    @property
    def bill(self) -> Bill:
        return self.deployment.bill

    def objective(self, name: str) -> float:
        """Lower is better, for every objective."""
        return {
            "money": self.usd_per_million,
            "latency": self.latency_ms,
            "size": float(self.bytes),
            "bandwidth": self.bill.bandwidth_usd,
        }[name]

    def drop(self, baseline: Candidate, split: str = "validation") -> float:
        """Quality lost against ``baseline``: percentage points for shares (accuracy, recall,
        AUC...), the metric's units for errors (RMSE, MAE)."""
        return Metric(self.metric).drop(getattr(baseline, split), getattr(self, split))

    def to_json(self) -> Json:
        """The candidate's object of report.json; ``test``, ``usd_per_million``,
        ``usd_per_month``, ``latency_ms`` and ``bill`` repeat its deployment's."""
        return {
            "trial": {"recipe": self.recipe, "epochs": self.epochs},
            "validation": self.validation, "test": self.test, "metric": self.metric,
            "bytes": self.bytes, "usd_per_million": self.usd_per_million,
            "usd_per_month": self.bill.total_usd, "latency_ms": self.latency_ms,
            "bill": self.bill.to_json(), "seconds": self.seconds, "path": str(self.path),
            "cut_short": self.cut_short, "deployment": self.deployment.to_json(),
            "deployments": [d.to_json() for d in self.deployments],
            "layers": [layer.to_json() for layer in self.layers],
            "tensors": [tensor.to_json() for tensor in self.tensors],
        }  # fmt: skip

    @classmethod
    def from_json(cls, document: Json) -> Self:
        """The candidate of a report.json object; the keys that repeat its deployment's are
        not read."""
        return cls(
            recipe=document["trial"]["recipe"], epochs=document["trial"]["epochs"],
            validation=document["validation"], metric=document["metric"],
            bytes=document["bytes"], seconds=document["seconds"], path=Path(document["path"]),
            cut_short=document["cut_short"],
            deployment=Deployment.from_json(document["deployment"]),
            deployments=tuple(Deployment.from_json(d) for d in document["deployments"]),
            layers=tuple(Layer.from_json(layer) for layer in document["layers"]),
            tensors=tuple(Tensor.from_json(tensor) for tensor in document["tensors"]),
        )  # fmt: skip
