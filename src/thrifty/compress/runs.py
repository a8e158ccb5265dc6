"""Running an exported graph in ONNX Runtime, as the techniques on the graph do: the check that
what they hand on runs, and a graph's outputs on rows of the data."""

from __future__ import annotations

import numpy as np

from thrifty.datasets.samples import feed, run_in_length_order, take
from thrifty.errors import ModelError
from thrifty.models.model import Model, bind

BATCH = 32


def check_runs(model: Model, context, advice: str) -> None:
    """Refuse to hand on a graph that ONNX Runtime cannot load or run; ``advice`` says what to
    do instead ("try another quantize mode or leave quantize out")."""
    try:
        outputs(model, take(context.data.train.x, slice(0, 8)))
    except Exception as error:  # ORT raises its own types, one per failure kind
        raise ModelError(
            f"the quantized graph of {model.name!r} does not run in ONNX Runtime ({error}); "
            f"{advice}"
        ) from error


def outputs(model: Model, x) -> np.ndarray:
    """What ``model``'s graph gives for the rows ``x`` (the output thrifty reads), in batches;
    every output is computed, so a graph that fails anywhere fails here."""
    import onnxruntime as ort

    session = ort.InferenceSession(model.to_bytes(), providers=["CPUExecutionProvider"])
    dtypes = model.input_dtypes
    read = [o.name for o in session.get_outputs()].index(model.output_name)

    def run(part):
        return session.run(None, bind(dtypes, feed(part)))[read]

    return run_in_length_order(run, model.fit_inputs(x), BATCH)
