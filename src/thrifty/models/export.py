"""PyTorch to ONNX, with a dynamic batch axis (and a dynamic sequence axis for token inputs)."""

from __future__ import annotations

import inspect
import io
import warnings

import numpy as np

from thrifty.models.model import PREPROCESSING, Model

OPSET = 17  # ONNX Runtime 1.32 runs opsets up to 23; 17 is what most deployments accept


def from_module(
    module, example, *, name: str, source: str = "torch", output: str = "output"
) -> Model:
    """Export ``module`` for samples like ``example``: the shape of one sample (a module of one
    float32 input), or a batch of named inputs (arrays by the names of ``forward``'s
    parameters, e.g. ``input_ids`` and ``attention_mask``). The batch axis stays dynamic, and
    so does the sequence axis of integer inputs of one axis a sample (token ids, masks).
    ``output`` names the graph's output (a compressed model keeps its original's).

    Uses the TorchScript-based exporter (``dynamo=False``): for the feed-forward models thrifty
    compresses it gives the same graph as the dynamo exporter about 20x faster (0.1 s against
    2 s for LeNet-300-100), which matters when a search exports hundreds of candidates.
    A module that preprocesses its inputs in its first layer (a model thrifty trained) has its
    steps recorded in the graph's metadata.
    """
    import onnx
    import torch

    from thrifty.models.feeding import to_tensors
    from thrifty.models.preprocessing import recorded

    module = module.eval()
    if isinstance(example, dict):
        order = [p for p in inspect.signature(module.forward).parameters if p in example]
        inputs = {n: np.ascontiguousarray(example[n][:2]) for n in order}
        args, kwargs = (), to_tensors(inputs)
        axes = {n: {0: "batch", 1: "sequence"} if _tokens(a) else {0: "batch"}
                for n, a in inputs.items()}  # fmt: skip
    else:
        args, kwargs = (torch.zeros((2, *example), dtype=torch.float32),), {}
        axes = {"input": {0: "batch"}}
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            args,
            buffer,
            kwargs=kwargs,
            dynamo=False,
            opset_version=OPSET,
            input_names=list(axes),
            output_names=[output],
            dynamic_axes={**axes, output: {0: "batch"}},
        )
    proto = onnx.load_from_string(buffer.getvalue())
    steps = recorded(module)
    if steps is not None:
        proto.metadata_props.add(key=PREPROCESSING, value=steps)
    return Model(proto=proto, name=name, source=source, module=module)


def _tokens(array: np.ndarray) -> bool:
    return array.ndim == 2 and np.issubdtype(array.dtype, np.integer)
