"""A trained baseline from the zoo, written as ONNX, with its test score: what ``thrifty train``
does. Above ``measure`` and ``predict``, which score it as deployed; ``models`` trains it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from thrifty.datasets import Dataset
from thrifty.datasets import load as load_data
from thrifty.models.export import from_module
from thrifty.models.training import TrainConfig, train
from thrifty.models.zoo import build
from thrifty.paths import writable_file


def train_baseline(
    name: str,
    data: Dataset | str | Path,
    output: str | Path,
    *,
    target: str | None = None,
    epochs: int = 30,
    patience: int = 5,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    """Train zoo model ``name`` on ``data``, write it to ``output`` (ONNX), and say how it did.

    The model applies the data's ``training_steps`` in its first layer, so the ONNX file takes
    the rows as given. The test score is measured on the written ONNX file in ONNX Runtime, as it
    will be deployed.
    """
    from thrifty.measure.quality import measure_quality
    from thrifty.predict.session import open_session

    writable_file(output)
    if not isinstance(data, Dataset):
        data = load_data(data, target=target, seed=seed)
    outputs = data.num_classes or 1
    result = train(
        build(name, data.input_shape, outputs, steps=data.training_steps, seed=seed),
        data,
        TrainConfig(epochs=epochs, patience=patience, seed=seed),
        progress=progress and f"training {name}",
    )
    model = from_module(result.module, data.input_shape, name=name)
    model.metadata.update(data=data.describe(), seed=seed)
    model.save(output)
    quality = measure_quality(
        open_session(model, device="cpu"),
        data.test.x,
        data.test.y,
        metric=data.metric,
        classes=data.classes or data.num_classes,
        split="test",
    )
    return {
        "model": name,
        "data": data.name,
        "output": str(output),
        "metric": quality.metric,
        "test": quality.value,
        "epochs": result.epochs,
        "best_epoch": result.best_epoch,
        "seconds": result.seconds,
    }
