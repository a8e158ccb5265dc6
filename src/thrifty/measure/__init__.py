"""Measuring what a model costs: counts, time, memory, quality, and the money they mean."""

from thrifty.measure.bill import Bill, Workload
from thrifty.measure.cost import Bandwidth, Compute, Cost, Storage
from thrifty.measure.counts import Layer, count_layers
from thrifty.measure.pricing import Price, Pricing, load_pricing
from thrifty.measure.profile import profile
from thrifty.measure.quality import Quality
from thrifty.measure.timing import Latency, Throughput

__all__ = [
    "Bandwidth",
    "Bill",
    "Compute",
    "Cost",
    "Latency",
    "Layer",
    "Price",
    "Pricing",
    "Quality",
    "Storage",
    "Throughput",
    "Workload",
    "count_layers",
    "load_pricing",
    "profile",
]
