"""``Workload`` and ``Bill``: a Cost turned into money per month (formulas: docs/COST.md)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from thrifty.errors import PricingError
from thrifty.measure.cost import Cost
from thrifty.measure.pricing import Pricing

GB = 2**30  # cloud providers bill transfer and storage per GiB ("GB" on their price pages)
HOUR = 3600.0


@dataclass(frozen=True)
class Workload:
    """How a model is used in a month. The defaults describe a modest production service."""

    inferences_per_month: float = 10_000_000
    replicas: int = 2  # servers (or devices) that each hold a copy of the model
    deploys_per_month: int = 4  # new versions shipped to every replica
    versions_kept: int = 10  # versions stored in the model registry

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not isinstance(value, int | float) or value < 0:
                raise PricingError(f"workload {name} must be a number >= 0, got {value!r}")


@dataclass(frozen=True)
class Bill:
    """Money per month, by category, for one model under one pricing profile and workload."""

    compute_usd: float
    storage_usd: float
    bandwidth_usd: float
    inferences_per_month: float
    pricing: str
    workload: Workload

    @property
    def total_usd(self) -> float:
        return self.compute_usd + self.storage_usd + self.bandwidth_usd

    @property
    def usd_per_million(self) -> float:
        """The whole monthly bill spread over the month's inferences, per million."""
        if not self.inferences_per_month:
            return 0.0
        return self.total_usd / self.inferences_per_month * 1e6

    @classmethod
    def of(cls, cost: Cost, pricing: Pricing, workload: Workload = Workload()) -> Bill:
        n = workload.inferences_per_month
        compute = cost.compute
        if compute.device == "cuda":  # one GPU per stream: GPU-hours
            compute_usd = n / compute.throughput.samples_per_s / HOUR * pricing["gpu_hour"]
        else:  # core-seconds per inference: threads used over samples per second
            compute_usd = n * compute.core_seconds_per_inference / HOUR * pricing["cpu_core_hour"]
        stored = cost.storage.bytes * workload.versions_kept / GB
        deployed = cost.bandwidth.bytes_to_ship * workload.replicas * workload.deploys_per_month
        bandwidth_usd = (
            deployed / GB * pricing["deploy_gb"]
            + n * cost.bandwidth.response_bytes / GB * pricing["egress_gb"]
            + n * cost.bandwidth.request_bytes / GB * pricing["ingress_gb"]
        )
        return cls(
            compute_usd,
            stored * pricing["storage_gb_month"],
            bandwidth_usd,
            n,
            pricing.name,
            workload,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "compute_usd": self.compute_usd,
            "storage_usd": self.storage_usd,
            "bandwidth_usd": self.bandwidth_usd,
            "total_usd": self.total_usd,
            "usd_per_million": self.usd_per_million,
            "pricing": self.pricing,
            "workload": asdict(self.workload),
        }
