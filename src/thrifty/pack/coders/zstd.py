"""One zstd frame of the symbols as little-endian integers: wins on repetitive, structured streams.

The frame declares its content size, and the decoder checks it against ``count`` before
decompressing anything, so a small hostile frame cannot claim gigabytes (a decompression bomb).
No checksum: every record is already covered by its SHA-256.
"""

from __future__ import annotations

import numpy as np
import zstandard

from thrifty.errors import CorruptStream

MAX_ALPHABET = 2**32  # the widest symbol is 4 bytes
LEVEL = 19  # streams up to 1 MiB: symbol streams are small, and 19 is the smallest in reach
LARGE = 2**20
LARGE_LEVEL = 6  # bigger inputs are raw weights: 19 takes ~5 s a MiB there for under 1% less
MAGIC = b"\x28\xb5\x2f\xfd"  # a zstd frame; skippable frames and other data are refused


def symbol_dtype(alphabet: int) -> np.dtype:
    """The smallest of 1, 2 or 4 little-endian bytes that holds ``alphabet - 1``."""
    return np.min_scalar_type(alphabet - 1).newbyteorder("<")


def encode(symbols: np.ndarray, alphabet: int) -> bytes | None:
    """One frame with its content size; None for an alphabet wider than 4 bytes."""
    if alphabet > MAX_ALPHABET:
        return None
    data = np.asarray(symbols).astype(symbol_dtype(alphabet)).tobytes()
    level = LEVEL if len(data) <= LARGE else LARGE_LEVEL
    return zstandard.ZstdCompressor(level=level, write_content_size=True).compress(data)


def decode(payload: bytes | memoryview, count: int, alphabet: int) -> np.ndarray:
    """``count`` symbols, or CorruptStream for a bad frame, a wrong size or a symbol too big."""
    dtype = symbol_dtype(alphabet)
    size = count * dtype.itemsize
    if bytes(payload[: len(MAGIC)]) != MAGIC:
        raise CorruptStream("zstd stream does not start with a zstd frame; the file is damaged")
    try:
        declared = zstandard.frame_content_size(payload)
    except zstandard.ZstdError as error:
        raise CorruptStream(f"zstd stream has a broken frame header: {error}") from error
    if declared != size:  # -1 when the frame does not declare it
        raise CorruptStream(
            f"zstd frame declares {declared} bytes of content, the header {size};"
            " the file is damaged or hostile"
        )
    try:
        data = zstandard.ZstdDecompressor().decompress(
            payload, max_output_size=size, allow_extra_data=False
        )
    except zstandard.ZstdError as error:
        raise CorruptStream(f"zstd stream does not decompress: {error}") from error
    if len(data) != size:
        raise CorruptStream(f"zstd frame holds {len(data)} bytes, not {size}; the file is damaged")
    symbols = np.frombuffer(data, dtype=dtype).astype(dtype.newbyteorder("="))
    if count and int(symbols.max()) >= alphabet:
        raise CorruptStream(
            f"zstd stream holds symbol {int(symbols.max())}, not below alphabet {alphabet};"
            " the file is damaged"
        )
    return symbols
