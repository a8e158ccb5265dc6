"""Enumerative coding: a stream is its rank among all orderings of its own symbol counts.

With the frequency table stored anyway, the decoder knows the multiset; what is left to say is
which of its ``M = count! / prod(c_s!)`` orderings the stream is. The rank takes
``ceil(log2(M) / 8)`` bytes, which is never above the order-0 entropy bound ``count x H`` and
has no coder overhead at all (Cover, "Enumerative source encoding", 1973). That matters for the
short streams of small layers, where rANS's final state and word alignment cost 4 to 8 bytes,
several percent of a stream of a few dozen bytes.

Exact ranks are Python integers of ``log2(M)`` bits, and each symbol costs a few operations on
them, so coding time grows with ``count x log2(M)``: the coder applies to streams of at most
``MAX_COUNT`` symbols, where rANS's fixed cost would be largest in relative terms.
"""

from __future__ import annotations

from math import factorial, prod

import numpy as np

from thrifty.errors import CorruptStream
from thrifty.pack.coders.counts import read_counts, write_counts

MAX_ALPHABET = 4096  # bounds the table parse, as for rans
MAX_COUNT = 4096  # bounds the work: about 0.05 s at the widest alphabet


def encode(symbols: np.ndarray, alphabet: int) -> bytes | None:
    """Table then rank; None for an empty stream, one over MAX_COUNT or a wide alphabet."""
    if not 1 <= len(symbols) <= MAX_COUNT or not 2 <= alphabet <= MAX_ALPHABET:
        return None
    counts = np.bincount(symbols, minlength=alphabet)
    remaining = _Counts(counts)
    orderings = _orderings(counts)
    rank, left = 0, len(symbols)
    for symbol in symbols.tolist():
        rank += orderings * remaining.below(symbol) // left
        orderings = orderings * remaining.take(symbol) // left
        left -= 1
    return write_counts(counts) + rank.to_bytes(_rank_bytes(counts), "little")


def decode(payload: bytes | memoryview, count: int, alphabet: int) -> np.ndarray:
    """The ``count`` symbols of the ordering the rank names, or CorruptStream."""
    if not 1 <= count <= MAX_COUNT or not 2 <= alphabet <= MAX_ALPHABET:
        raise CorruptStream(f"enumerative cannot code {count} symbols of alphabet {alphabet}")
    counts, start = read_counts(payload, alphabet, count)
    if len(payload) - start != _rank_bytes(counts):
        raise CorruptStream(
            f"enumerative rank takes {_rank_bytes(counts)} bytes, the stream holds "
            f"{len(payload) - start}"
        )
    rank = int.from_bytes(payload[start:], "little")
    orderings = _orderings(counts)
    if rank >= orderings:
        raise CorruptStream("enumerative rank is past the last ordering of its counts; damaged")
    remaining = _Counts(counts)
    symbols = np.empty(count, dtype=np.min_scalar_type(alphabet - 1))
    for left in range(count, 0, -1):
        symbol = remaining.find(rank * left // orderings)
        rank -= orderings * remaining.below(symbol) // left
        orderings = orderings * remaining.take(symbol) // left
        symbols[count - left] = symbol
    return symbols


def _orderings(counts: np.ndarray) -> int:
    """``count! / prod(c_s!)``, the number of distinct orderings of the multiset."""
    return factorial(int(counts.sum())) // prod(factorial(c) for c in counts.tolist() if c > 1)


def _rank_bytes(counts: np.ndarray) -> int:
    """Bytes of the largest rank, ``orderings - 1``: zero for a stream of one repeated symbol."""
    return ((_orderings(counts) - 1).bit_length() + 7) // 8


class _Counts:
    """The counts of the symbols not coded yet, as a Fenwick tree: prefix sums in log time."""

    def __init__(self, counts: np.ndarray):
        self.counts = counts.tolist()
        self.tree = [0, *self.counts]
        for i in range(1, len(self.tree)):
            parent = i + (i & -i)
            if parent < len(self.tree):
                self.tree[parent] += self.tree[i]
        self.top = 1 << (len(self.counts).bit_length() - 1)

    def below(self, symbol: int) -> int:
        """How many remaining symbols are smaller than ``symbol``."""
        total, i = 0, symbol
        while i:
            total += self.tree[i]
            i &= i - 1
        return total

    def take(self, symbol: int) -> int:
        """Remove one ``symbol``; returns how many there were."""
        count = self.counts[symbol]
        self.counts[symbol] -= 1
        i = symbol + 1
        while i < len(self.tree):
            self.tree[i] -= 1
            i += i & -i
        return count

    def find(self, target: int) -> int:
        """The symbol whose run of remaining symbols, in sorted order, holds position ``target``."""
        position, step = 0, self.top
        while step:
            if position + step < len(self.tree) and self.tree[position + step] <= target:
                position += step
                target -= self.tree[position]
            step >>= 1
        return position
