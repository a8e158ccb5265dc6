"""PyTorch to ONNX, with a dynamic batch axis."""

from __future__ import annotations

import io
import warnings

from thrifty.models.model import PREPROCESSING, Model

OPSET = 17  # ONNX Runtime 1.32 runs opsets up to 23; 17 is what most deployments accept


def from_module(module, input_shape: tuple[int, ...], *, name: str, source: str = "torch") -> Model:
    """Export ``module`` for samples of ``input_shape``; the batch axis stays dynamic.

    Uses the TorchScript-based exporter (``dynamo=False``): for the feed-forward models thrifty
    compresses it gives the same graph as the dynamo exporter about 20x faster (0.1 s against
    2 s for LeNet-300-100), which matters when a search exports hundreds of candidates.
    A module that preprocesses its inputs in its first layer (a model thrifty trained) has its
    steps recorded in the graph's metadata.
    """
    import onnx
    import torch

    from thrifty.models.preprocessing import recorded

    module = module.eval()
    example = torch.zeros((2, *input_shape), dtype=torch.float32)
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (example,),
            buffer,
            dynamo=False,
            opset_version=OPSET,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
        )
    proto = onnx.load_from_string(buffer.getvalue())
    steps = recorded(module)
    if steps is not None:
        proto.metadata_props.add(key=PREPROCESSING, value=steps)
    return Model(proto=proto, name=name, source=source, module=module)
