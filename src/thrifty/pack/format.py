"""Constants of the .thrifty format (docs/FORMAT.md is normative): preamble, dtypes, limits."""

from __future__ import annotations

import struct

import numpy as np

MAGIC = b"THRIFTY\x00"
VERSION = 1
PREAMBLE = struct.Struct("<8sHHI32s")  # magic, version, flags, header length, header SHA-256
PREAMBLE_SIZE = PREAMBLE.size  # 48

MAX_HEADER_BYTES = 16 * 2**20
MAX_TENSORS = 100_000
MAX_DIMS = 16
MAX_TENSOR_BYTES = 4 * 2**30  # decoded, one tensor
MAX_TOTAL_BYTES = 16 * 2**30  # decoded, all tensors
MAX_GRAPH_BYTES = 256 * 2**20  # the serialized graph without its weights
MAX_CODEBOOK = 256
# enumerative coding costs Python-integer work per symbol: a file holds at most this many
MAX_ENUMERATIVE_SYMBOLS = 2**19
SMALL_TENSOR = (
    64  # elements: fewer are stored dense and raw, where any coding costs more than it saves
)


def _bfloat16():
    import ml_dtypes

    return np.dtype(ml_dtypes.bfloat16)


# name -> (item size in bytes, ONNX TensorProto data type)
DTYPES: dict[str, tuple[int, int]] = {
    "float32": (4, 1),
    "uint8": (1, 2),
    "int8": (1, 3),
    "uint16": (2, 4),
    "int16": (2, 5),
    "int32": (4, 6),
    "int64": (8, 7),
    "bool": (1, 9),
    "float16": (2, 10),
    "float64": (8, 11),
    "uint32": (4, 12),
    "uint64": (8, 13),
    "bfloat16": (2, 16),
}
ONNX_TO_NAME = {onnx_type: name for name, (_, onnx_type) in DTYPES.items()}
BITS = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}  # item size -> its bit pattern


def numpy_dtype(name: str) -> np.dtype:
    return _bfloat16() if name == "bfloat16" else np.dtype(name)
