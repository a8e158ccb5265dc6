"""``profile``: what a model costs, measured on the artifact that ships, in its runtime."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from thrifty.datasets import Dataset, Split
from thrifty.datasets.metrics import DEFAULT, parse
from thrifty.datasets.samples import feed, sample_bytes, sample_shape, take, typical_length
from thrifty.errors import DataError
from thrifty.loading import load
from thrifty.measure.cost import Bandwidth, Compute, Cost, Storage
from thrifty.measure.counts import count_layers
from thrifty.measure.memory import PeakMemory
from thrifty.measure.quality import measure_quality, reference
from thrifty.measure.timing import measure_latency, measure_throughput
from thrifty.models import Model
from thrifty.predict.session import Device, Runtime, open_session

SPLITS = ("train", "val", "test")


def profile(
    model: Any,
    data: Dataset | Split | str | Path,
    *,
    split: str = "test",
    runtime: Runtime = "onnxruntime",
    device: Device = "auto",
    threads: int | None = None,
    timing_budget_s: float = 1.0,
    metric: str | None = None,
) -> Cost:
    """Measure a model's compute, storage, bandwidth and quality on held-out data.

    ``model`` is anything :func:`thrifty.load` takes; ``data`` a Dataset (its ``split`` is used),
    a Split, or a data set name. ``timing_budget_s`` bounds each latency and throughput probe.
    ``metric`` names the quality metric (``"auc"``, ``"recall:1"``, ``"mae"``; see
    ``thrifty.datasets.metrics``) when not the data set's own.

    >>> import thrifty as th
    >>> from torch import nn
    >>> data = th.datasets.load("digits")
    >>> cost = th.profile(nn.Sequential(nn.Linear(64, 10)), data, timing_budget_s=0.05)
    >>> cost.storage.params, cost.compute.macs_per_sample
    (650, 640)
    """
    part, scoring, classes, name = _held_out(data, split, metric)
    model = load(model, input_shape=sample_shape(part.x)) if not isinstance(model, Model) else model
    x = model.fit_inputs(part.x)
    if part.y is None:  # an embedding, against itself: the reference is the model's own vectors
        part = replace(part, y=reference(model)(x))
    with PeakMemory() as peak:
        session = open_session(model, runtime, device, threads)
        quality = measure_quality(session, x, part.y, metric=scoring, classes=classes, split=name)
    with session:  # closed when measured: a PyTorch session puts the process's threads back
        latency = measure_latency(session, x, budget_s=timing_budget_s)
        throughput = measure_throughput(session, x, budget_s=timing_budget_s / 4)
        outputs = session.run(feed(take(x, slice(0, 1))))
    layers = count_layers(model.proto, typical_length(x))
    packed = model.metadata.get("packed_bytes")
    artifact, form = (packed, "thrifty") if packed else (len(model.to_bytes()), "onnx")
    return Cost(
        model=model.name,
        compute=Compute(
            session.runtime,
            session.device,
            session.threads,
            latency,
            throughput,
            peak.bytes,
            sum(layer.macs for layer in layers),
            tuple(getattr(session, "sparse_layers", ())),
        ),
        storage=Storage(artifact, sum(layer.params for layer in layers), form),
        bandwidth=Bandwidth(artifact, sample_bytes(x), int(outputs.nbytes)),
        quality=quality,
        layers=layers,
    )


def _held_out(data, split: str, metric: str | None):
    """The split to measure on, its metric, its classes, and its name."""
    if isinstance(data, Split):
        integer = np.issubdtype(data.y.dtype, np.integer)
        task = "classification" if integer else "regression"
        classes = int(data.y.max()) + 1 if integer else None
        return data, parse(metric or DEFAULT[task], task, classes), classes, "given"
    if not isinstance(data, Dataset):
        from thrifty.datasets import load as load_data

        data = load_data(data)
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}: choose one of {', '.join(SPLITS)}")
    data = data.with_metric(metric)
    return getattr(data, split), data.metric, data.classes or data.num_classes, split
