"""rANS over the stream's own order-0 frequencies: within a fraction of a percent of its entropy.

The payload is the frequency table (``counts.py``) and then the 32-bit words of constriction's
``AnsCoder``. The table fixes the model exactly, so the decoder can also check that the symbols
it got have exactly those counts, which catches almost every damaged code.
"""

from __future__ import annotations

import constriction
import numpy as np

from thrifty.errors import CorruptStream
from thrifty.pack.coders.counts import read_counts, write_counts

MAX_ALPHABET = 4096  # bounds the table parse; constriction cannot model an alphabet of 1


def encode(symbols: np.ndarray, alphabet: int) -> bytes | None:
    """Table then code; None for an empty stream or an alphabet outside 2..4096."""
    if len(symbols) == 0 or not 2 <= alphabet <= MAX_ALPHABET:
        return None
    counts = np.bincount(symbols, minlength=alphabet)
    coder = constriction.stream.stack.AnsCoder()
    coder.encode_reverse(np.asarray(symbols, dtype=np.int32), _model(counts))
    return write_counts(counts) + coder.get_compressed().astype("<u4").tobytes()


def decode(payload: bytes | memoryview, count: int, alphabet: int) -> np.ndarray:
    """``count`` symbols whose counts are the table's, or CorruptStream."""
    if count < 1 or not 2 <= alphabet <= MAX_ALPHABET:
        raise CorruptStream(f"rans cannot code {count} symbols of alphabet {alphabet}")
    counts, start = read_counts(payload, alphabet, count)
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
