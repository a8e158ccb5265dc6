"""rANS over the stream's own order-0 frequencies: within a fraction of a percent of its entropy.

The payload is the frequency table and then the 32-bit words of constriction's ``AnsCoder``.
The table takes the smaller of two forms: every count (dense), or only the symbols that occur
(sparse: the gap to each and its count), which matters for wide alphabets such as sparse
positions' gaps, where most symbols never occur and a dense table would cost more than the
code. The table fixes the model exactly, so the decoder can also check that the symbols it got
have exactly those counts, which catches almost every damaged code.
"""

from __future__ import annotations

import constriction
import numpy as np

from thrifty.errors import CorruptStream

MAX_ALPHABET = 4096  # bounds the table parse; constriction cannot model an alphabet of 1
MAX_VARINT_BYTES = 5  # a count is below 2^32


def encode(symbols: np.ndarray, alphabet: int) -> bytes | None:
    """Table then code; None for an empty stream or an alphabet outside 2..4096."""
    if len(symbols) == 0 or not 2 <= alphabet <= MAX_ALPHABET:
        return None
    counts = np.bincount(symbols, minlength=alphabet)
    coder = constriction.stream.stack.AnsCoder()
    coder.encode_reverse(np.asarray(symbols, dtype=np.int32), _model(counts))
    return _table(counts) + coder.get_compressed().astype("<u4").tobytes()


def decode(payload: bytes | memoryview, count: int, alphabet: int) -> np.ndarray:
    """``count`` symbols whose counts are the table's, or CorruptStream."""
    if count < 1 or not 2 <= alphabet <= MAX_ALPHABET:
        raise CorruptStream(f"rans cannot code {count} symbols of alphabet {alphabet}")
    counts, start = _read_table(payload, alphabet)
    if counts.sum() != count:
        raise CorruptStream(f"rans table counts {counts.sum()} symbols, the header {count}")
    if (len(payload) - start) % 4:
        raise CorruptStream("rans code is not a whole number of 32-bit words; it is truncated")
    words = np.frombuffer(payload, dtype="<u4", offset=start).astype(np.uint32)
    try:
        coder = constriction.stream.stack.AnsCoder(words)
        symbols = coder.decode(_model(counts), count)
        exhausted = coder.is_empty()
    except Exception as error:  # constriction raises ValueError, KeyError, ... on bad words
        raise CorruptStream(f"rans code does not decode: {error}") from error
    if not exhausted or not np.array_equal(np.bincount(symbols, minlength=alphabet), counts):
        raise CorruptStream("rans code does not decode to its frequency table; it is damaged")
    return symbols.astype(np.min_scalar_type(alphabet - 1))


def _model(counts: np.ndarray):
    """The categorical model of docs/FORMAT.md; encoder and decoder must build it identically.

    constriction gives zero-count symbols its smallest mass (2^-24) rather than none: at most
    4095 x 2^-24 of the range, under 0.0004 bits a symbol; decode's table check refuses them.
    """
    return constriction.stream.model.Categorical(counts / counts.sum(), perfect=False)


DENSE, SPARSE = 0, 1  # the table's first byte


def _table(counts: np.ndarray) -> bytes:
    dense = bytes([DENSE]) + _varints(counts.tolist())
    used = np.flatnonzero(counts)
    skips = np.diff(used, prepend=-1) - 1
    pairs = np.stack([skips, counts[used]], axis=1).reshape(-1)
    sparse = bytes([SPARSE]) + _varints([len(used), *pairs.tolist()])
    return min(dense, sparse, key=len)


def _varints(values: list[int]) -> bytes:
    """Unsigned LEB128: seven bits a byte, least significant first, high bit = more follows."""
    out = bytearray()
    for value in values:
        while value >= 0x80:
            out.append(value & 0x7F | 0x80)
            value >>= 7
        out.append(value)
    return bytes(out)


def _read_table(payload: bytes | memoryview, alphabet: int) -> tuple[np.ndarray, int]:
    """The counts, each below 2^32, read from inside the payload; CorruptStream otherwise."""
    if len(payload) < 1 or payload[0] not in (DENSE, SPARSE):
        raise CorruptStream("rans table form must be 0 (dense) or 1 (sparse)")
    counts = np.zeros(alphabet, dtype=np.int64)
    if payload[0] == DENSE:
        pos = 1
        for i in range(alphabet):
            counts[i], pos = _varint(payload, pos)
        return counts, pos
    used, pos = _varint(payload, 1)
    if used > alphabet:
        raise CorruptStream(f"rans table lists {used} symbols of an alphabet of {alphabet}")
    symbol = -1
    for _ in range(used):
        skip, pos = _varint(payload, pos)
        count, pos = _varint(payload, pos)
        symbol += skip + 1
        if symbol >= alphabet or count == 0:
            raise CorruptStream(
                f"rans table lists symbol {symbol} of {alphabet} with count {count}"
            )
        counts[symbol] = count
    return counts, pos


def _varint(payload: bytes | memoryview, pos: int) -> tuple[int, int]:
    """One LEB128 integer of at most 5 bytes and below 2^32 at ``pos``, and where it ends."""
    value = 0
    for shift in range(0, 7 * MAX_VARINT_BYTES, 7):
        if pos >= len(payload):
            raise CorruptStream("rans table runs past the stream's end")
        byte = payload[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            if value >= 2**32:
                raise CorruptStream(f"rans table holds {value}, over 2^32 - 1")
            return value, pos
    raise CorruptStream(f"rans table holds an integer longer than {MAX_VARINT_BYTES} bytes")
