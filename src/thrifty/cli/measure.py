"""``thrifty profile``: what a model costs to run, store and ship, and its monthly bill."""

from __future__ import annotations

from typing import Annotated

import typer

from thrifty.cli.options import (
    DEPLOYS_PER_MONTH,
    INFERENCES_PER_MONTH,
    REPLICAS,
    VERSIONS_KEPT,
    AsJson,
    Data,
    DeploysPerMonth,
    Device,
    InferencesPerMonth,
    Metric,
    ModelSource,
    Pricing,
    Replicas,
    Runtime,
    Target,
    Text,
    VersionsKept,
    workload,
)
from thrifty.cli.output import show_profile


def profile(
    model: ModelSource,
    data: Data,
    target: Target = None,
    text: Text = None,
    split: Annotated[str, typer.Option(help="The held-out split to measure on.")] = "test",
    metric: Metric = None,
    runtime: Runtime = "onnxruntime",
    device: Device = "auto",
    threads: Annotated[
        int | None, typer.Option(help="Threads per session (default: all cores).")
    ] = None,
    pricing: Pricing = None,
    inferences_per_month: InferencesPerMonth = INFERENCES_PER_MONTH,
    replicas: Replicas = REPLICAS,
    deploys_per_month: DeploysPerMonth = DEPLOYS_PER_MONTH,
    versions_kept: VersionsKept = VERSIONS_KEPT,
    as_json: AsJson = False,
) -> None:
    """Measure what a model costs: compute, storage, bandwidth, quality, and the monthly bill."""
    from thrifty.datasets import load as load_data
    from thrifty.loading import load
    from thrifty.measure import Bill, load_pricing
    from thrifty.measure import profile as measure
    from thrifty.progress import status

    month = workload(inferences_per_month, replicas, deploys_per_month, versions_kept)
    prices = load_pricing(pricing)
    loaded = load(model)
    with status("measuring", quiet=as_json):
        cost = measure(
            loaded,
            load_data(data, target=target, text=text, model=loaded),
            split=split,
            runtime=runtime,
            device=device,
            threads=threads,
            metric=metric,
        )
    show_profile(cost, Bill.of(cost, prices, month), as_json)


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: thrifty profile model.onnx --data fashion-mnist --json")(profile)
