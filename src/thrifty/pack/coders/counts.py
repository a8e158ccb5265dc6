"""A stream's frequency table: every symbol's count, in the smaller of a dense and a sparse form.

The rans and enumerative coders start their payload with it (docs/FORMAT.md). The dense form
lists every count; the sparse form lists only the symbols that occur (the gap to each and its
count), which matters for wide alphabets such as sparse positions' gaps, where most symbols
never occur and a dense table would cost more than the code.
"""

from __future__ import annotations

import numpy as np

from thrifty.errors import CorruptStream

MAX_VARINT_BYTES = 5  # a count is below 2^32
DENSE, SPARSE = 0, 1  # the table's first byte


def write_counts(counts: np.ndarray) -> bytes:
    """The table of ``counts`` (one per symbol of the alphabet), in its smaller form."""
    dense = bytes([DENSE]) + _varints(counts.tolist())
    used = np.flatnonzero(counts)
    skips = np.diff(used, prepend=-1) - 1
    pairs = np.stack([skips, counts[used]], axis=1).reshape(-1)
    sparse = bytes([SPARSE]) + _varints([len(used), *pairs.tolist()])
    return min(dense, sparse, key=len)


def read_counts(payload: bytes | memoryview, alphabet: int, count: int) -> tuple[np.ndarray, int]:
    """The counts at the payload's start and where they end; CorruptStream unless they sum to
    ``count``, each below 2^32."""
    if len(payload) < 1 or payload[0] not in (DENSE, SPARSE):
        raise CorruptStream("frequency table form must be 0 (dense) or 1 (sparse)")
    counts = np.zeros(alphabet, dtype=np.int64)
    if payload[0] == DENSE:
        pos = 1
        for i in range(alphabet):
            counts[i], pos = _varint(payload, pos)
    else:
        counts, pos = _read_sparse(payload, counts)
    if counts.sum() != count:
        raise CorruptStream(f"frequency table counts {counts.sum()} symbols, the header {count}")
    return counts, pos


def _read_sparse(payload: bytes | memoryview, counts: np.ndarray) -> tuple[np.ndarray, int]:
    alphabet = len(counts)
    used, pos = _varint(payload, 1)
    if used > alphabet:
        raise CorruptStream(f"frequency table lists {used} symbols of an alphabet of {alphabet}")
    symbol = -1
    for _ in range(used):
        skip, pos = _varint(payload, pos)
        count, pos = _varint(payload, pos)
        symbol += skip + 1
        if symbol >= alphabet or count == 0:
            raise CorruptStream(
                f"frequency table lists symbol {symbol} of {alphabet} with count {count}"
            )
        counts[symbol] = count
    return counts, pos


def _varints(values: list[int]) -> bytes:
    """Unsigned LEB128: seven bits a byte, least significant first, high bit = more follows."""
    out = bytearray()
    for value in values:
        while value >= 0x80:
            out.append(value & 0x7F | 0x80)
            value >>= 7
        out.append(value)
    return bytes(out)


def _varint(payload: bytes | memoryview, pos: int) -> tuple[int, int]:
    """One LEB128 integer of at most 5 bytes and below 2^32 at ``pos``, and where it ends."""
    value = 0
    for shift in range(0, 7 * MAX_VARINT_BYTES, 7):
        if pos >= len(payload):
            raise CorruptStream("frequency table runs past the stream's end")
        byte = payload[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            if value >= 2**32:
                raise CorruptStream(f"frequency table holds {value}, over 2^32 - 1")
            return value, pos
    raise CorruptStream(f"frequency table holds an integer longer than {MAX_VARINT_BYTES} bytes")
