"""``Bits``: the exported graph's weights in 4 bits (or 8), in blocks, by ONNX Runtime's
weight-only quantizer (``onnxruntime.quantization.matmul_nbits_quantizer``).

Like ``quantize`` it works on the ONNX graph: what runs is ONNX Runtime's ``MatMulNBits`` and
``GatherBlockQuantized`` (contrib operators of its CPU provider), so its quantizer writes them.

- The weights of MatMul nodes, and of Gemm nodes (what torch exports a Linear as), which ORT's
  ``ONNXModel.replace_gemm_with_matmul`` makes MatMul + Add first, become ``MatMulNBits``:
  codes of ``bits`` bits packed in uint8, in blocks of ``BLOCK`` along the input axis, each
  block with its own scale and zero point. At ``ACCURACY`` 4 the CPU kernel quantizes each
  block of activations to int8 and multiplies in integers: the arithmetic changes too.
- Embedding tables (a Gather from a float32 initializer, along its first axis) become
  ``GatherBlockQuantized`` in 4 bits, in blocks of ``BLOCK`` along each row, so a
  transformer's word embeddings (30,522 x 384 in all-MiniLM-L6-v2: more than half its weights)
  shrink too. ORT's quantizer types them uint4 and raises the graph's opset to 21 for that
  type, which breaks other nodes (ReduceL2's ``axes`` left opset 18 as an attribute); the
  operator takes the same bytes as uint8 with ``bits=4``, so they are retyped and the opset
  stays. ORT 1.32 quantizes tables in 4 bits only: at ``bits:8`` they stay float32.
- Rounding: round to nearest (ORT's default quantizer) and HQQ (half-quadratic quantization,
  Badri & Shaji 2023: each block's zero point fitted to its weights, ORT's implementation, in
  torch) are both made, and the one whose outputs on validation rows are closer to the
  original's is kept. On all-MiniLM-L6-v2 (MatMuls in 4 bits, blocks of 32, 300 held-out
  WordNet glosses): spearman 0.969 and 0.976. ORT's GPTQ, calibrated on 128 rows, gave 0.969
  in 190 s (with act-order 0.947), so it is not among them. HQQ's zero points are float32, one
  more number a block in the file; where torch sees a GPU, ORT's HQQ runs there in float16.

ORT 1.32's ``MatMulNBits`` packs 2, 4 or 8 bits, not 3; 2 bits kept spearman 0.54 on
all-MiniLM-L6-v2, so ``bits`` is 4 or 8.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass

import numpy as np

from thrifty.compress.registry import Strength, Technique, register
from thrifty.compress.runs import check_runs, outputs
from thrifty.datasets.samples import take
from thrifty.errors import DataError, NotApplicable, RuntimeUnavailable
from thrifty.models.model import Model

WIDTHS = (4, 8)
# weights per scale and zero point. all-MiniLM-L6-v2's MatMuls in 4 bits, round to nearest
# (spearman on 300 held-out glosses; packed file with the embeddings float32): 16: 0.974;
# 32: 0.969, 49.7 MB; 64: 0.960, 48.9 MB; 128: 0.949, 48.4 MB. 32 is the finest block whose
# float32 scale costs at most one bit a weight; 16 buys 0.005 for a bit more a weight.
BLOCK = 32
# MatMulNBits' accuracy_level: 4 quantizes activations to int8, 0 decodes the weights to
# float32. One thread, Emerald Rapids (AVX-512 VNNI, AMX), a 384x1536 weight, against fp32
# MatMul: 12 rows (a short sentence) 4 bits 0.78x at 4, 0.48x at 0; 8 bits 0.89x, 0.11x;
# 640 rows 4 bits 0.63x, 0.92x. 4 is never far off; 0 is ten times slower for 8 bits.
ACCURACY = 4
ROWS = 256  # validation rows on which the roundings' outputs are compared with the original's
ROUNDINGS = ("round-to-nearest", "hqq")


@dataclass(frozen=True)
class Bits:
    bits: int  # bits a weight's code takes; its block adds a scale and a zero point

    def __post_init__(self) -> None:
        if self.bits not in WIDTHS:
            raise DataError(
                f"bits must be 4 or 8 (ONNX Runtime's MatMulNBits packs 2, 4 or 8, and 2 "
                f"keeps too little of a model); got {self.bits!r}"
            )


def bits(model: Model, config: Bits, context) -> Model:
    context.say(f"bits: {config.bits}-bit weights in blocks of {BLOCK}")
    proto = _as_matmuls(model.proto)
    weights = {t.name for t in proto.graph.initializer}
    matmuls = [n for n in proto.graph.node if n.op_type == "MatMul" and n.input[1] in weights]
    if not matmuls and not _tables(proto):
        raise NotApplicable(f"bits: {model.name!r} has no MatMul, Gemm or embedding weights")
    roundings = ROUNDINGS
    if config.bits == 4:
        proto = _quantized_tables(proto)
    else:  # the CPU kernel takes 8-bit codes with uint8 zero points only, not HQQ's floats
        roundings = ROUNDINGS[:1]
    candidates = [
        Model(proto=_quantized_matmuls(proto, config.bits, rounding), name=model.name,
              source=model.source, metadata=dict(model.metadata))
        for rounding in roundings
    ]  # fmt: skip
    best = 0
    if len(candidates) > 1:
        errors, rows = _errors(model, candidates, context)
        best = int(np.argmin(errors))
        context.say(
            f"bits: {', '.join(f'{r} {e:.2%} off' for r, e in zip(roundings, errors, strict=True))}"
            f" on {rows} validation rows: {roundings[best]} kept"
        )
    check_runs(candidates[best], context, "try bits:8 or leave bits out")
    return candidates[best]  # no torch module: what runs now is the quantized graph alone


def _quantizer():
    """ORT's weight-only quantizer. Importing it calls ``logging.basicConfig(level=INFO)``,
    after which every library's INFO records would print: a handler on the root logger for
    the import makes that call do nothing."""
    root, quiet = logging.getLogger(), logging.NullHandler()
    root.addHandler(quiet)
    try:
        from onnxruntime.quantization import matmul_nbits_quantizer
    except ModuleNotFoundError as error:  # onnx-ir: it imports it, its package does not ask
        raise RuntimeUnavailable(
            f"bits needs {error.name}, which ONNX Runtime's weight-only quantizer imports; "
            "install thrifty's dependencies (pip install onnx-ir==1.0.0)"
        ) from error
    finally:
        root.removeHandler(quiet)
    return matmul_nbits_quantizer


def _as_matmuls(proto):
    """A copy of ``proto`` with each Gemm (alpha = beta = 1, A not transposed) a MatMul + Add."""
    from onnxruntime.quantization.onnx_model import ONNXModel

    graph = ONNXModel(_copy(proto))
    graph.replace_gemm_with_matmul()
    return graph.model


def _quantized_matmuls(proto, width: int, rounding: str):
    import onnx

    q = _quantizer()
    if rounding == "hqq":
        config = q.HQQWeightOnlyQuantConfig(block_size=BLOCK, bits=width)
    else:
        config = q.DefaultWeightOnlyQuantConfig(block_size=BLOCK, bits=width)
    quantizer = q.MatMulNBitsQuantizer(_copy(proto), algo_config=config)
    with warnings.catch_warnings():  # HQQ hands torch the initializers' read-only arrays
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        quantizer.process()
    quantized = quantizer.model.model
    for node in quantized.graph.node:
        if node.op_type == "MatMulNBits":  # HQQ writes none: A unquantized, in float32
            kept = [a for a in node.attribute if a.name != "accuracy_level"]
            del node.attribute[:]
            node.attribute.extend([*kept, onnx.helper.make_attribute("accuracy_level", ACCURACY)])
    return quantized


def _tables(proto) -> list:
    """The Gather nodes that read an embedding table ORT can quantize and the uint8 form
    holds: a 2-D float32 initializer, gathered along its first axis, whose rows hold an even
    number of values and of blocks (ORT packs two codes a byte over the whole table, which is
    two a byte along each row only then)."""
    import onnx

    initializers = {t.name: t for t in proto.graph.initializer}
    found = []
    for node in proto.graph.node:
        table = initializers.get(node.input[0]) if node.op_type == "Gather" else None
        if table is None or table.data_type != onnx.TensorProto.FLOAT or len(table.dims) != 2:
            continue
        axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
        row = table.dims[1]
        if axis == 0 and row % 2 == 0 and math.ceil(row / BLOCK) % 2 == 0:
            found.append(node)
    return found


def _quantized_tables(proto):
    """``proto`` with its embedding tables (``_tables``) in 4 bits, as uint8."""
    import onnx

    tables = _tables(proto)
    if not tables:
        return proto
    q = _quantizer()
    names = {node.name for node in tables}
    others = [n.name for n in proto.graph.node if n.op_type == "Gather" and n.name not in names]
    config = q.DefaultWeightOnlyQuantConfig(
        block_size=BLOCK, op_types_to_quantize=("Gather",), quant_axes=(("Gather", 1),)
    )
    quantizer = q.MatMulNBitsQuantizer(_copy(proto), nodes_to_exclude=others, algo_config=config)
    log = logging.getLogger(q.__name__)  # it warns of the opset it raises, put back below
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        quantizer.process()
    finally:
        log.setLevel(level)
    quantized = quantizer.model.model
    initializers = {t.name: t for t in quantized.graph.initializer}
    for node in quantized.graph.node:
        if node.op_type == "GatherBlockQuantized":
            for name in (node.input[0], node.input[3]):  # the codes, the zero points
                tensor = initializers[name]
                tensor.data_type = onnx.TensorProto.UINT8
                tensor.dims[-1] = (tensor.dims[-1] + 1) // 2
            node.attribute.append(onnx.helper.make_attribute("bits", 4))
    versions = {o.domain: o.version for o in proto.opset_import}
    for opset in quantized.opset_import:
        opset.version = versions.get(opset.domain, opset.version)
    quantized.ir_version = proto.ir_version
    return quantized


def _errors(model: Model, candidates: list[Model], context) -> tuple[list[float], int]:
    """How far each candidate's outputs on validation rows are from the original's (the
    squared difference over the original's squared outputs), and on how many rows."""
    rows = take(context.data.val.x, slice(0, ROWS))
    original = outputs(model, rows).astype(np.float64)
    scale = max(float(np.sum(original**2)), 1e-30)
    errors = [float(np.sum((outputs(c, rows) - original) ** 2)) / scale for c in candidates]
    return errors, len(rows)


def _copy(proto):
    import onnx

    copy = onnx.ModelProto()
    copy.CopyFrom(proto)
    return copy


register(
    Technique(
        "bits", Bits, bits, stage="precision", on="graph", fine_tunes=False,
        strength=Strength("bits", low=4, high=8, stronger="lower", tries=(4,), gentler=(8,)),
        arithmetic=lambda step: True,  # MatMulNBits: int4 or int8 weights, int8 products
    )
)  # fmt: skip
