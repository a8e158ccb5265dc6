"""What is inside a .thrifty file, per tensor, read from its header alone."""

from __future__ import annotations

import mmap
from dataclasses import asdict, dataclass
from math import prod
from pathlib import Path
from typing import Any

from thrifty.pack.format import PREAMBLE_SIZE
from thrifty.pack.reader import read_header, reading


@dataclass(frozen=True)
class TensorRow:
    name: str
    dtype: str
    shape: list[int]
    encoding: str  # e.g. "sparse bitmask/rans + codebook 32/rans"
    bytes: int
    bits_per_weight: float


@dataclass(frozen=True)
class Inspection:
    path: str
    file_bytes: int
    header_bytes: int
    graph_bytes: int
    tensors: list[TensorRow]
    metadata: dict[str, Any]

    @property
    def weights(self) -> int:
        return sum(prod(row.shape) for row in self.tensors)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "weights": self.weights}


def inspect(path: str | Path) -> Inspection:
    """Per-tensor shape, encoding, bytes and bits per weight; checks the header, decodes nothing."""
    with (
        reading(path),
        open(path, "rb") as handle,
        mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data,
    ):
        header, body = read_header(data)
        size = len(data)
    rows = [
        TensorRow(
            t["name"],
            t["dtype"],
            t["shape"],
            describe(t),
            t["length"],
            8 * t["length"] / max(1, prod(t["shape"])),
        )
        for t in header["tensors"]
    ]
    return Inspection(
        str(path),
        size,
        body - PREAMBLE_SIZE,
        header["graph"]["length"],
        rows,
        header.get("metadata", {}),
    )


def describe(entry: dict[str, Any]) -> str:
    values = entry["values"]
    method = f"codebook {values['table']}" if values["method"] == "codebook" else "raw"
    text = f"{method}/{values['coder']}"
    if entry["layout"] == "sparse":
        positions = entry["positions"]
        return f"sparse {positions['method']}/{positions['coder']} + {text}"
    return f"dense {text}"
