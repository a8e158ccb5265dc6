"""``Quantize``: the exported graph in 8-bit integers or 16-bit floats, by ONNX Runtime's tools.

It runs on the ONNX graph, not the torch module, because the arithmetic that ships is ONNX
Runtime's: its int8 kernels (VNNI/AMX on x86) decide what int8 costs and loses, so the graph is
quantized by ONNX Runtime's own quantizer and measured in ONNX Runtime (DESIGN.md, principle 1).

- ``int8-static``: weights and activations in int8, QDQ format. Activation ranges come from
  calibration batches of the training split (MinMax). Unsigned activations with signed weights,
  per-channel, as ONNX Runtime's guide recommends for x86 CPUs ("Quantize ONNX models", Choosing
  parameters for CPU inference); ``reduce_range`` stays off, so the same artifact is built on every
  machine (CPUs without VNNI may then saturate int16 sums; measure it there).
- ``int8-dynamic``: weights in int8 per channel; activations quantized at run time, per batch, so
  no calibration data is needed.
- Shared weights (``share``: each layer's weights take at most a few dozen values) are quantized
  per tensor in both int8 modes: one scale keeps a layer's few values few int8 codes, which the
  file codes in 4-5 bits each; a scale per channel gives each row its own codes for them
  (MLP-2048 narrowed and shared to 16 values, int8-dynamic: 803,953 bytes per tensor, 1,051,022
  per channel; int8-static: 805,119 and 936,997).
- ``fp16``: every float32 weight and operation in float16; inputs and outputs stay float32, so
  callers feed the same arrays. The converter is ONNX Runtime's copy of onnxconverter-common's
  (``onnxruntime.transformers.float16``, the one Olive uses): it also retypes ``Cast`` nodes, which
  graphs from other converters (skl2onnx) carry and onnxconverter-common 1.16 leaves float32.

Both int8 modes first run ONNX Runtime's pre-processing, which its quantizer asks for, with shape
inference only: its graph optimization fuses MatMul + Add into a Gemm with a 2-D bias, on which
ONNX Runtime 1.32's per-channel static quantizer fails (skl2onnx graphs). Nothing is lost for
torch exports: the exporter already emits Gemm and folds BatchNorm into convolutions.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from thrifty.compress.registry import Strength, Technique, register
from thrifty.compress.runs import check_runs
from thrifty.datasets.samples import batches, feed, take
from thrifty.errors import DataError
from thrifty.models.model import Model, bind

MODES = ("fp16", "int8-dynamic", "int8-static")
CALIBRATION_ROWS = 512  # MinMax ranges settle within a few hundred samples on small models
CALIBRATION_BATCH = 64
SHARED = 256  # a weight of more elements than this, taking at most this many values, was shared


@dataclass(frozen=True)
class Quantize:
    mode: Literal["fp16", "int8-dynamic", "int8-static"]

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise DataError(f"quantize mode must be one of {', '.join(MODES)}; got {self.mode!r}")


def quantize(model: Model, config: Quantize, context) -> Model:
    import onnx

    context.say(f"quantize: {config.mode}")
    if config.mode == "fp16":
        proto = _to_fp16(model.proto)
    else:
        with tempfile.TemporaryDirectory(prefix="thrifty-quantize-") as folder:
            proto = onnx.load(_to_int8(model, config.mode, context, Path(folder)))
    quantized = Model(
        proto=proto, name=model.name, source=model.source, metadata=dict(model.metadata)
    )
    check_runs(quantized, context, "try another quantize mode or leave quantize out")
    return quantized  # no torch module: what runs now is the quantized graph alone


def _to_fp16(proto):
    # (importing these appends onnxruntime/transformers to sys.path: ONNX Runtime's own doing)
    from onnxruntime.transformers.float16 import convert_float_to_float16
    from onnxruntime.transformers.onnx_model import OnnxModel

    converted = convert_float_to_float16(proto, keep_io_types=True)
    # it appends the input Casts after the nodes that read them: ONNX Runtime runs that, but
    # the ONNX checker (and other runtimes) require nodes in topological order
    OnnxModel.graph_topological_sort(converted.graph)
    return converted


def _to_int8(model: Model, mode: str, context, folder: Path) -> Path:
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    original, prepared, output = folder / "model.onnx", folder / "prepared.onnx", folder / "q.onnx"
    onnx.save(model.proto, original)
    # ORT's symbolic shape inference gives up on a dynamic axis past the batch (a transformer's
    # sequence), and then leaves a debugging copy of the graph in the working folder: ONNX's
    # own shape inference is what quantization needs there
    symbolic = None not in model.input_shape
    quant_pre_process(original, prepared, skip_optimization=True, skip_symbolic_shape=not symbolic)
    per_channel = not _shared(model.proto)
    if mode == "int8-dynamic":
        quantize_dynamic(prepared, output, per_channel=per_channel, weight_type=QuantType.QInt8)
    else:
        quantize_static(
            prepared,
            output,
            Calibration(model, context),
            quant_format=QuantFormat.QDQ,
            per_channel=per_channel,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )
    return output


def _shared(proto) -> bool:
    """Whether every large weight matrix or kernel of a MatMul, Gemm or Conv takes at most
    ``SHARED`` values."""
    from onnx import numpy_helper

    initializers = {t.name: t for t in proto.graph.initializer}
    names = {
        name
        for node in proto.graph.node
        if node.op_type in ("MatMul", "Gemm", "Conv")
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


register(
    Technique(
        "quantize", Quantize, quantize, stage="precision", on="graph", fine_tunes=False,
        strength=Strength("mode", choices=MODES, tries=("int8-static", "int8-dynamic", "fp16")),
        arithmetic=lambda step: step.mode != "fp16",  # int8 kernels; where a CPU has no
        # float16 kernels ONNX Runtime casts a float16 graph back to float32 to run it
    )
)  # fmt: skip
