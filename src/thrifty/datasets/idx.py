"""A reader for the IDX files of (Fashion-)MNIST, checked before anything is allocated.

Layout (LeCun's MNIST page): two zero bytes, a type byte (0x08 = unsigned byte), the number of
dimensions, then one big-endian uint32 size per dimension, then the data, row-major.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from thrifty.errors import DataError

MAX_ITEMS = 1 << 30  # 1 GiB of pixels: far above any IDX data set, far below a harmful allocation


def read_idx(path: Path) -> np.ndarray:
    """Read a gzip-compressed IDX file of unsigned bytes into an array of its declared shape."""
    with gzip.open(path, "rb") as handle:
        raw = handle.read(MAX_ITEMS + 64)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path} is not an IDX file of unsigned bytes; reinstall the data set")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataError(f"{path} has a truncated IDX header; reinstall the data set")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    count = int(np.prod(shape, dtype=np.int64))
    if count > MAX_ITEMS or len(raw) - header != count:
        raise DataError(
            f"{path} declares {count} values but holds {len(raw) - header}; reinstall the data set"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)
