"""Writing a .thrifty file: the graph without its weights, then every weight tensor encoded."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from thrifty.atomic import write_atomic
from thrifty.pack.coders import CODERS
from thrifty.pack.format import MAGIC, MAX_ENUMERATIVE_SYMBOLS, ONNX_TO_NAME, PREAMBLE, VERSION
from thrifty.pack.header import enumerative_symbols
from thrifty.pack.tensors import BYTES, encode_tensor

WITHOUT_ENUMERATIVE = {name: coder for name, coder in CODERS.items() if name != "enumerative"}


def write_pack(proto, path: str | Path, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """Pack an ONNX ModelProto into ``path`` (atomically); return the header that was written."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    graph = onnx.ModelProto()
    graph.CopyFrom(proto)
    weights = [t for t in graph.graph.initializer if t.data_type in ONNX_TO_NAME]
    entries, records = [], []
    budget = MAX_ENUMERATIVE_SYMBOLS
    for tensor in weights:
        args = tensor.name, numpy_helper.to_array(tensor), ONNX_TO_NAME[tensor.data_type]
        entry, record = encode_tensor(*args)
        if enumerative_symbols(entry) > budget:  # spent on earlier tensors: the next best coders
            entry, record = encode_tensor(*args, coders=WITHOUT_ENUMERATIVE)
        budget -= enumerative_symbols(entry)
        entries.append(entry)
        records.append(record)
    kept = [t for t in graph.graph.initializer if t.data_type not in ONNX_TO_NAME]
    del graph.graph.initializer[:]
    graph.graph.initializer.extend(kept)

    serialized = graph.SerializeToString()
    packed = CODERS["zstd"].encode(np.frombuffer(serialized, np.uint8), BYTES)
    coder, graph_record = (
        ("zstd", packed) if packed and len(packed) < len(serialized) else ("raw", serialized)
    )
    offset = len(graph_record)
    body = hashlib.sha256(graph_record)
    for entry, record in zip(entries, records, strict=True):
        entry["offset"] = offset
        entry["sha256"] = hashlib.sha256(record).hexdigest()
        offset += len(record)
        body.update(record)
    header = {
        "format": "thrifty",
        "version": VERSION,
        "graph": {
            "offset": 0,
            "length": len(graph_record),
            "coder": coder,
            "size": len(serialized),
            "sha256": hashlib.sha256(graph_record).hexdigest(),
        },
        "tensors": entries,
        "body_sha256": body.hexdigest(),
        "metadata": metadata or {},
    }
    raw = json.dumps(header, separators=(",", ":"), allow_nan=False).encode("utf-8")
    preamble = PREAMBLE.pack(MAGIC, VERSION, 0, len(raw), hashlib.sha256(raw).digest())
    write_atomic(path, [preamble, raw, graph_record, *records])
    return header
