"""One tensor to one record and back: layouts (dense, sparse) and value methods (raw, codebook).

Everything works on the elements' bit patterns (``BITS``), so coding is exact for every dtype:
-0.0 is not zero, and every NaN keeps its payload.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from thrifty.errors import CorruptStream
from thrifty.pack.coders import CODERS, decode_stream, encode_stream
from thrifty.pack.format import BITS, DTYPES, MAX_CODEBOOK, SMALL_TENSOR, numpy_dtype

BYTES = 256  # a stream of raw bytes is a stream of symbols of alphabet 256


def encode_tensor(
    name: str, array: np.ndarray, dtype: str, coders: dict[str, Any] = CODERS
) -> tuple[dict[str, Any], bytes]:
    """The smallest encoding of ``array`` whose streams use ``coders``: its header entry (without
    offset, sha256) and record."""
    width = DTYPES[dtype][0]
    flat = np.ascontiguousarray(array).reshape(-1).view(BITS[width])
    values, payload = _raw(flat) if len(flat) < SMALL_TENSOR else _values(flat, width, coders)
    candidates = [({"layout": "dense", "values": values}, payload)]
    if len(flat) >= SMALL_TENSOR:
        nonzero = flat != 0
        if not nonzero.all():
            candidates.append(_sparse(flat, nonzero, width, coders))
    fields, record = min(candidates, key=_file_bytes)
    entry = {"name": name, "dtype": dtype, "shape": list(array.shape), "length": len(record)}
    return {**entry, **fields}, record


def decode_tensor(entry: dict[str, Any], record: memoryview | bytes) -> np.ndarray:
    """The tensor a checked header entry and its record describe, or CorruptStream."""
    width = DTYPES[entry["dtype"]][0]
    count = int(np.prod(entry["shape"], dtype=np.int64)) if entry["shape"] else 1
    values_spec = entry["values"]
    cursor = 0
    if entry["layout"] == "sparse":
        spec = entry["positions"]
        positions = decode_stream(spec, record[: spec["length"]])
        cursor = spec["length"]
    values = decode_values(values_spec, record[cursor:], width)
    if entry["layout"] == "dense":
        flat = values
    else:
        flat = np.zeros(count, dtype=BITS[width])
        flat[value_indices(entry["positions"]["method"], positions, len(values), count)] = values
    return flat.view(numpy_dtype(entry["dtype"])).reshape(entry["shape"])


def _file_bytes(candidate: tuple[dict[str, Any], bytes]) -> int:
    """What a candidate adds to the file: its record and its fields in the JSON header (a sparse
    layout's positions take about 100 bytes there, more than some records save)."""
    fields, record = candidate
    return len(record) + len(json.dumps(fields, separators=(",", ":")))


def _sparse(flat: np.ndarray, nonzero: np.ndarray, width: int, coders: dict[str, Any]):
    index = np.flatnonzero(nonzero)
    gaps = np.diff(index, prepend=-1) - 1
    options = [("bitmask", nonzero.astype(np.uint8), 2)]
    if len(gaps):
        options.append(("gaps", gaps, int(gaps.max()) + 1))
    coded = [
        (method, *encode_stream(symbols, alphabet, coders)) for method, symbols, alphabet in options
    ]
    method, spec, payload = min(coded, key=lambda c: len(c[2]))
    values, value_bytes = _values(flat[index], width, coders)
    return {"layout": "sparse", "positions": {"method": method, **spec}, "values": values}, (
        payload + value_bytes
    )


def _values(values: np.ndarray, width: int, coders: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """Raw bytes, zstd of them, or a codebook: whichever is smallest."""
    options = [_raw(values)]
    packed = CODERS["zstd"].encode(np.frombuffer(values.tobytes(), np.uint8), BYTES)
    if packed is not None:
        options.append(
            (
                {"method": "raw", "coder": "zstd", "count": len(values), "length": len(packed)},
                packed,
            )
        )
    table, indices = np.unique(values, return_inverse=True)
    if 0 < len(table) <= MAX_CODEBOOK:
        spec, payload = encode_stream(indices.reshape(-1), len(table), coders)
        fields = {"method": "codebook", "table": len(table), "table_length": table.nbytes}
        options.append(({**fields, **spec}, table.tobytes() + payload))
    return min(options, key=lambda option: len(option[1]))


def _raw(values: np.ndarray) -> tuple[dict[str, Any], bytes]:
    data = values.tobytes()
    return {"method": "raw", "coder": "raw", "count": len(values), "length": len(data)}, data


def decode_values(spec: dict[str, Any], record, width: int) -> np.ndarray:
    bits = BITS[width]
    if spec["method"] == "codebook":
        table = np.frombuffer(record[: spec["table_length"]], dtype=bits)
        indices = decode_stream(spec, record[spec["table_length"] :][: spec["length"]])
        return table[indices]
    data = record[: spec["length"]]
    if spec["coder"] == "zstd":
        data = CODERS["zstd"].decode(bytes(data), spec["count"] * width, BYTES)
        return np.frombuffer(np.ascontiguousarray(data, dtype=np.uint8).tobytes(), dtype=bits)
    return np.frombuffer(data, dtype=bits).copy()


def value_indices(method: str, positions: np.ndarray, values: int, count: int) -> np.ndarray:
    """Element indices of the non-zero values, checked against the tensor's size."""
    if method == "bitmask":
        mask = positions.astype(bool)
        if int(mask.sum()) != values:
            raise CorruptStream(f"the bitmask marks {int(mask.sum())} values, the header {values}")
        return np.flatnonzero(mask)
    index = np.cumsum(positions.astype(np.int64) + 1) - 1
    if len(index) and index[-1] >= count:
        raise CorruptStream(f"gaps lead to element {index[-1]} of a tensor of {count}")
    return index
