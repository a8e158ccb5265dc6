"""Fixed-width bit packing: the fallback that always applies and costs ceil(log2(alphabet)) bits.

It wins for near-uniform symbols and tiny streams, where a frequency table or a zstd frame header
would cost more than it saves.
"""

from __future__ import annotations

import numpy as np

from thrifty.errors import CorruptStream

MAX_ALPHABET = 2**32  # symbols decode to at most uint32, like zstd's widest width


def bits_per_symbol(alphabet: int) -> int:
    """``max(1, ceil(log2(alphabet)))``, computed exactly on integers."""
    return max(1, (alphabet - 1).bit_length())


def encode(symbols: np.ndarray, alphabet: int) -> bytes | None:
    """Each symbol in ``b`` bits, least significant first, packed from each byte's low bit."""
    if alphabet > MAX_ALPHABET:
        return None
    width = bits_per_symbol(alphabet)
    bits = np.empty((len(symbols), width), dtype=np.uint8)
    for k in range(width):  # one vectorised pass per bit plane, at most 32
        bits[:, k] = (symbols >> k) & 1
    return np.packbits(bits.reshape(-1), bitorder="little").tobytes()


def decode(payload: bytes | memoryview, count: int, alphabet: int) -> np.ndarray:
    """``count`` symbols, or CorruptStream for a wrong length, set padding or a symbol too big."""
    width = bits_per_symbol(alphabet)
    used = count * width
    if len(payload) != (used + 7) // 8:
        raise CorruptStream(
            f"bitpack stream of {count} symbols of {width} bits needs {(used + 7) // 8} bytes,"
            f" got {len(payload)}; the file is damaged, pack the model again"
        )
    bits = np.unpackbits(np.frombuffer(payload, dtype=np.uint8), bitorder="little")
    if bits[used:].any():
        raise CorruptStream("bitpack stream has nonzero padding bits; the file is damaged")
    planes = bits[:used].reshape(count, width)
    dtype = np.min_scalar_type(alphabet - 1)
    symbols = np.zeros(count, dtype=dtype)
    for k in range(width):
        symbols |= planes[:, k].astype(dtype) << k
    if count and int(symbols.max()) >= alphabet:
        raise CorruptStream(
            f"bitpack stream holds symbol {int(symbols.max())}, not below alphabet {alphabet};"
            " the file is damaged"
        )
    return symbols
