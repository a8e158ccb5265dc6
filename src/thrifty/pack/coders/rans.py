"""rANS over the stream's own order-0 frequencies: within a fraction of a percent of its entropy.

The payload is the frequency table (``alphabet`` LEB128 counts) and then the 32-bit words of
constriction's ``AnsCoder``. The table fixes the model exactly, so the decoder can also check that
the symbols it got have exactly those counts, which catches almost every damaged code.
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


def _table(counts: np.ndarray) -> bytes:
    out = bytearray()
    for value in counts.tolist():
        while value >= 0x80:
            out.append(value & 0x7F | 0x80)
            value >>= 7
        out.append(value)
    return bytes(out)


def _read_table(payload: bytes | memoryview, alphabet: int) -> tuple[np.ndarray, int]:
    """``alphabet`` LEB128 counts, each at most 5 bytes and below 2^32, inside the payload."""
    counts = np.zeros(alphabet, dtype=np.int64)
    pos = 0
    for i in range(alphabet):
        value = 0
        for shift in range(0, 7 * MAX_VARINT_BYTES, 7):
            if pos >= len(payload):
                raise CorruptStream(f"rans table of {alphabet} counts runs past the stream's end")
            byte = payload[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                break
        else:
            raise CorruptStream(f"rans table count {i} is longer than {MAX_VARINT_BYTES} bytes")
        if value >= 2**32:
            raise CorruptStream(f"rans table count {i} is {value}, over 2^32 - 1")
        counts[i] = value
    return counts, pos
