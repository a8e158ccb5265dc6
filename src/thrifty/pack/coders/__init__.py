"""The four coders of a stream of symbols (docs/FORMAT.md, "Streams of symbols").

``encode_stream`` tries every coder that applies and keeps the smallest payload; ties go to the
first of ``CODERS`` in order, so the same symbols always give the same bytes. ``decode_stream``
returns the smallest unsigned dtype that holds ``alphabet - 1`` (uint8, uint16 or uint32), the
dtype zstd stores: a bitmask or codebook index stays one byte a symbol in memory.

Each coder is a module with ``MAX_ALPHABET``, ``encode(symbols, alphabet) -> bytes | None``
(None: it does not apply) and ``decode(payload, count, alphabet) -> np.ndarray``, which returns
exactly ``count`` symbols below ``alphabet`` or raises CorruptStream. ``count`` is trusted to be
capped already by the header checks (DecodedSizeTooLarge): decoders allocate for it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from thrifty.errors import CorruptStream, InvalidHeader
from thrifty.pack.coders import bitpack, enumerative, rans, zstd

# Order breaks ties: the fastest decoders first.
CODERS = {"bitpack": bitpack, "rans": rans, "zstd": zstd, "enumerative": enumerative}

__all__ = ["CODERS", "decode_stream", "encode_stream"]


def encode_stream(
    symbols: np.ndarray, alphabet: int, coders: dict[str, Any] = CODERS
) -> tuple[dict[str, Any], bytes]:
    """The smallest coding of ``symbols`` (each below ``alphabet``) by one of ``coders``, which
    must include bitpack: its description and payload."""
    symbols = np.asarray(symbols)
    if not 1 <= alphabet <= bitpack.MAX_ALPHABET:
        raise ValueError(f"alphabet must be between 1 and 2^32, got {alphabet}")
    if symbols.ndim != 1 or symbols.dtype.kind not in "iu":
        raise ValueError(
            f"symbols must be a 1-D integer array, got {symbols.dtype} {symbols.shape}"
        )
    if len(symbols) and (int(symbols.min()) < 0 or int(symbols.max()) >= alphabet):
        raise ValueError(
            f"symbols must lie in [0, {alphabet}), got {symbols.min()}..{symbols.max()}"
        )
    best = None
    for name, coder in coders.items():
        payload = coder.encode(symbols, alphabet)
        if payload is not None and (best is None or len(payload) < len(best[1])):
            best = name, payload
    name, payload = best
    description = {"coder": name, "count": len(symbols), "alphabet": alphabet}
    return {**description, "length": len(payload)}, payload


def decode_stream(description: dict[str, Any], payload: bytes | memoryview) -> np.ndarray:
    """The ``count`` symbols a stream's description and payload hold, or a PackFormatError.

    A description that cannot be right (unknown coder, alphabet out of the coder's range) is
    InvalidHeader; a payload that does not decode to what it declares is CorruptStream.
    """
    name = description.get("coder")
    coder = CODERS.get(name) if isinstance(name, str) else None
    if coder is None:
        raise InvalidHeader(f"stream coder must be one of {sorted(CODERS)}, got {name!r}")
    count, alphabet, length = (
        _integer(description, key) for key in ("count", "alphabet", "length")
    )
    if not 1 <= alphabet <= coder.MAX_ALPHABET:
        raise InvalidHeader(
            f"{name} stream alphabet must be between 1 and {coder.MAX_ALPHABET}, got {alphabet}"
        )
    if len(payload) != length:
        raise CorruptStream(f"stream declares {length} bytes but has {len(payload)}")
    return coder.decode(payload, count, alphabet)


def _integer(description: dict[str, Any], key: str) -> int:
    value = description.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidHeader(f"stream {key} must be an integer >= 0, got {value!r}")
    return value
