"""Token ids of many texts, kept ragged and padded one batch at a time.

Padding every text to the model's maximum length (256 for MiniLM) would make a batch of
ten-token glosses cost 25 times its work; sentence-transformers pads each batch to its own
longest text, and so does :meth:`Tokens.feed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING

import numpy as np

from thrifty.errors import DataError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tokenizers import Tokenizer

PAD_TOKENS = ("[PAD]", "<pad>")  # BERT's and RoBERTa's, for a tokenizer.json without padding


@dataclass(frozen=True)
class Tokens:
    """Row ``i`` is ``ids[offsets[i]:offsets[i + 1]]``: one flat int64 array, no padding.

    >>> tokens = Tokens(np.array([101, 7, 102, 101, 102]), np.array([0, 3, 5]), pad_id=0)
    >>> tokens.take(np.array([1])).feed()["input_ids"]
    array([[101, 102]])
    """

    ids: np.ndarray
    offsets: np.ndarray  # len(self) + 1 row starts, the last one len(ids)
    pad_id: int
    with_type_ids: bool = False  # BERT and MiniLM take token_type_ids; DistilBERT does not

    def __post_init__(self) -> None:
        ids, offsets = np.asarray(self.ids, np.int64), np.asarray(self.offsets, np.int64)
        if (
            offsets.ndim != 1
            or not len(offsets)
            or offsets[0] != 0
            or offsets[-1] != len(ids)
            or (np.diff(offsets) < 0).any()
        ):
            raise DataError(
                f"token offsets must rise from 0 to the {len(ids)} ids; got {offsets[:5]}..."
            )
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "offsets", offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def names(self) -> tuple[str, ...]:
        """The model inputs a batch holds."""
        types = ("token_type_ids",) if self.with_type_ids else ()
        return ("input_ids", "attention_mask", *types)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def take(self, index: np.ndarray | slice) -> Tokens:
        """The rows at ``index`` (indices, or a slice), in that order."""
        if isinstance(index, slice):
            index = np.arange(len(self))[index]
        index = np.asarray(index, np.int64)
        lengths = self.lengths[index]
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        # each kept id's position: its row's start in self, plus its place within the row
        within = np.arange(offsets[-1]) - np.repeat(offsets[:-1], lengths)
        ids = self.ids[np.repeat(self.offsets[index], lengths) + within]
        return Tokens(ids, offsets, self.pad_id, self.with_type_ids)

    def feed(self) -> dict[str, np.ndarray]:
        """The model's inputs for every row, padded to the longest of them (a batch's)."""
        lengths = self.lengths
        mask = np.arange(int(lengths.max(initial=0))) < lengths[:, None]
        input_ids = np.full(mask.shape, self.pad_id, np.int64)
        input_ids[mask] = self.ids  # row-major, as the rows lie in ids
        inputs = {"input_ids": input_ids, "attention_mask": mask.astype(np.int64)}
        if self.with_type_ids:
            inputs["token_type_ids"] = np.zeros(mask.shape, np.int64)
        return inputs

    def sample_bytes(self) -> int:
        """The first row's inputs as a request carries them (int64, unpadded)."""
        return 8 * len(self.names) * int(self.lengths[:1].sum())

    def digest(self, hasher) -> None:
        for array in (self.ids, self.offsets, np.array([self.pad_id, self.with_type_ids])):
            hasher.update(memoryview(array).cast("B"))


def tokenize(
    texts: Sequence[str], tokenizer: Tokenizer, max_length: int, with_type_ids: bool
) -> Tokens:
    """``texts`` as the model's token ids, each cut at ``max_length`` (special tokens included).

    The tokenizer is copied, so the padding and truncation saved in its tokenizer.json
    (all-MiniLM-L6-v2's pads every text to 128) neither apply here nor change for the caller.
    """
    from tokenizers import Tokenizer

    own = Tokenizer.from_str(tokenizer.to_str())
    own.no_padding()
    own.enable_truncation(max_length)
    encodings = own.encode_batch_fast(list(texts))
    rows = [e.ids for e in encodings]
    lengths = np.fromiter(map(len, rows), np.int64, len(rows))
    ids = np.fromiter(chain.from_iterable(rows), np.int64, int(lengths.sum(initial=0)))
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    return Tokens(ids, offsets, pad_id(tokenizer), with_type_ids)


def pad_id(tokenizer: Tokenizer) -> int:
    """The id the tokenizer pads with: its saved padding's, else its pad token's, else 0."""
    if tokenizer.padding:
        return int(tokenizer.padding["pad_id"])
    found = (tokenizer.token_to_id(token) for token in PAD_TOKENS)
    return next((i for i in found if i is not None), 0)


@dataclass(frozen=True)
class Encoding:
    """How a model turns texts into its inputs: its tokenizer (the tokenizer.json text), the
    longest input it takes, and whether it takes token_type_ids."""

    tokenizer: str
    max_length: int
    with_type_ids: bool

    def __call__(self, texts: Sequence[str]) -> Tokens:
        from tokenizers import Tokenizer

        own = Tokenizer.from_str(self.tokenizer)
        return tokenize(texts, own, self.max_length, self.with_type_ids)
