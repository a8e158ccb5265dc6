"""The graph in 8-bit integers, by ONNX Runtime's quantizer: what ``quantize:int8-*`` runs.

- ``dynamic``: weights in int8 per channel; activations quantized at run time, per batch, so
  no calibration data is needed.
- ``static``: weights and activations in int8, QDQ format. Activation ranges come from
  calibration batches of the training split (MinMax). Unsigned activations with signed weights,
  per-channel, as ONNX Runtime's guide recommends for x86 CPUs ("Quantize ONNX models", Choosing
  parameters for CPU inference); ``reduce_range`` stays off, so the same artifact is built on every
  machine (CPUs without VNNI may then saturate int16 sums; measure it there).
- Shared weights (``share``: each layer's weights take at most a few dozen values) are quantized
  per tensor in both modes: one scale keeps a layer's few values few int8 codes, which the file
  codes in 4-5 bits each; a scale per channel gives each row its own codes for them (MLP-2048
  narrowed and shared to 16 values, int8-dynamic: 803,953 bytes per tensor, 1,051,022 per
  channel; int8-static: 805,119 and 936,997).
- ``kept``: nodes left in float32 (mixed precision: the layers int8 hurts most, ``int8_scan``);
  ``only``: quantize these nodes alone (what the scan measures).

Both modes first run ONNX Runtime's pre-processing, which its quantizer asks for, with shape
inference only: its graph optimization fuses MatMul + Add into a Gemm with a 2-D bias, on which
ONNX Runtime 1.32's per-channel static quantizer fails (skl2onnx graphs). Nothing is lost for
torch exports: the exporter already emits Gemm and folds BatchNorm into convolutions.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from thrifty.datasets.samples import batches, feed, take
from thrifty.models.model import Model, bind

CALIBRATION_ROWS = 512  # MinMax ranges settle within a few hundred samples on small models
CALIBRATION_BATCH = 64
SHARED = 256  # a weight of more elements than this, taking at most this many values, was shared
WEIGHTED = ("MatMul", "Gemm", "Conv")  # the operators whose weights int8 quantizes


def to_int8(
    model: Model,
    dynamic: bool,
    context,
    kept: Sequence[str] = (),
    only: Sequence[str] | None = None,
):
    """``model``'s graph with its weighted operators in int8 (an ONNX proto)."""
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory(prefix="thrifty-quantize-") as name:
        folder = Path(name)
        original, prepared, output = folder / "model.onnx", folder / "prep.onnx", folder / "q.onnx"
        onnx.save(model.proto, original)
        # ORT's symbolic shape inference gives up on a dynamic axis past the batch (a
        # transformer's sequence), and then leaves a debugging copy of the graph in the working
        # folder: ONNX's own shape inference is what quantization needs there
        symbolic = None not in model.input_shape
        quant_pre_process(
            original, prepared, skip_optimization=True, skip_symbolic_shape=not symbolic
        )
        chosen = {"nodes_to_exclude": _as_quantized(kept), "nodes_to_quantize": _as_quantized(only)}
        per_channel = not _shared(model.proto)
        if dynamic:
            quantize_dynamic(
                prepared, output, per_channel=per_channel, weight_type=QuantType.QInt8, **chosen
            )
        else:
            quantize_static(
                prepared,
                output,
                Calibration(model, context),
                quant_format=QuantFormat.QDQ,
                per_channel=per_channel,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                **chosen,
            )
        return onnx.load(output)


def _as_quantized(names: Sequence[str] | None) -> list[str]:
    """The nodes as the quantizer names them: its dynamic mode first splits each Gemm into
    MatMul + Add, the product named ``<gemm>_MatMul`` (onnxruntime.quantization.onnx_model)."""
    return [found for name in names or () for found in (name, f"{name}_MatMul")]


def weighted(proto) -> list[str]:
    """The nodes int8 quantizes: matrix products and convolutions by a stored weight."""
    initializers = {t.name for t in proto.graph.initializer}
    return [
        node.name
        for node in proto.graph.node
        if node.op_type in WEIGHTED and node.name  # (the quantizer finds nodes by name)
        and any(name in initializers for name in node.input[1:2])
    ]  # fmt: skip


def _shared(proto) -> bool:
    """Whether every large weight matrix or kernel of a MatMul, Gemm or Conv takes at most
    ``SHARED`` values."""
    from onnx import numpy_helper

    initializers = {t.name: t for t in proto.graph.initializer}
    names = {
        name
        for node in proto.graph.node
        if node.op_type in WEIGHTED
        for name in node.input
        if name in initializers
    }
    weights = [numpy_helper.to_array(initializers[name]) for name in sorted(names)]
    large = [w for w in weights if w.ndim >= 2 and w.size > SHARED]  # not biases
    return bool(large) and all(len(np.unique(w)) <= SHARED for w in large)


class Calibration:
    """Batches of training rows, chosen with the seed, for calibration.

    ONNX Runtime's ``CalibrationDataReader`` accepts any object with ``get_next`` (its
    ``__subclasshook__``), so this module need not import onnxruntime when thrifty loads.
    """

    def __init__(self, model: Model, context) -> None:
        x = context.data.train.x
        rng = np.random.default_rng(context.finetune.seed)
        rows = rng.choice(len(x), size=min(len(x), CALIBRATION_ROWS), replace=False)
        sample = model.fit_inputs(take(x, np.sort(rows)))
        dtypes = model.input_dtypes
        self.batches = iter(bind(dtypes, feed(part)) for part in batches(sample, CALIBRATION_BATCH))

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self.batches, None)
