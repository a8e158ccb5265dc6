"""``Quantize``: the exported graph in 8-bit integers or 16-bit floats, by ONNX Runtime's tools.

It runs on the ONNX graph, not the torch module, because the arithmetic that ships is ONNX
Runtime's: its int8 kernels (VNNI/AMX on x86) decide what int8 costs and loses, so the graph is
quantized by ONNX Runtime's own quantizer and measured in ONNX Runtime (DESIGN.md, principle 1).

- ``int8-static`` and ``int8-dynamic``: weights (and, static, activations) in int8
  (``thrifty.compress.int8``).
- ``int8-dynamic-keep2`` (any count, either int8 mode): mixed precision. The two weighted
  layers that int8 hurts most, alone, stay in float32 (``int8_scan``: each layer quantized alone
  and scored on the validation split); the optimizer picks the counts for one model and budget.
- ``fp16``: every float32 weight and operation in float16; inputs and outputs stay float32, so
  callers feed the same arrays. The converter is ONNX Runtime's copy of onnxconverter-common's
  (``onnxruntime.transformers.float16``, the one Olive uses): it also retypes ``Cast`` nodes, which
  graphs from other converters (skl2onnx) carry and onnxconverter-common 1.16 leaves float32.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from thrifty.compress.int8 import to_int8
from thrifty.compress.int8_scan import scan_of, suggest_kept
from thrifty.compress.registry import Strength, Technique, register
from thrifty.compress.runs import check_runs
from thrifty.errors import DataError
from thrifty.models.model import Model

MODES = ("fp16", "int8-dynamic", "int8-static")
KEPT = re.compile(r"(int8-dynamic|int8-static)-keep([1-9][0-9]*)")  # int8-dynamic-keep2


@dataclass(frozen=True)
class Quantize:
    mode: str  # one of MODES, or an int8 mode with -keepK

    def __post_init__(self) -> None:
        if self.mode not in MODES and not KEPT.fullmatch(self.mode):
            raise DataError(
                f"quantize mode must be one of {', '.join(MODES)}, or an int8 mode keeping its "
                f"K layers int8 hurts most in float32 (int8-dynamic-keep2); got {self.mode!r}"
            )

    @property
    def precision(self) -> str:
        """The mode without its layers kept in float: ``int8-dynamic`` for
        ``int8-dynamic-keep2``."""
        kept = KEPT.fullmatch(self.mode)
        return kept.group(1) if kept else self.mode

    @property
    def kept(self) -> int:
        """How many weighted layers stay in float32."""
        kept = KEPT.fullmatch(self.mode)
        return int(kept.group(2)) if kept else 0


def quantize(model: Model, config: Quantize, context) -> Model:
    context.say(f"quantize: {config.mode}")
    if config.precision == "fp16":
        proto = _to_fp16(model.proto)
    else:
        kept = scan_of(model, context.data, context).worst(config.kept) if config.kept else ()
        proto = to_int8(model, config.precision == "int8-dynamic", context, kept=kept)
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


register(
    Technique(
        "quantize", Quantize, quantize, stage="precision", on="graph", fine_tunes=False,
        strength=Strength("mode", choices=MODES, tries=("int8-static", "int8-dynamic", "fp16")),
        arithmetic=lambda step: step.precision != "fp16",  # int8 kernels; where a CPU has no
        # float16 kernels ONNX Runtime casts a float16 graph back to float32 to run it
        suggest=suggest_kept,
    )
)  # fmt: skip
