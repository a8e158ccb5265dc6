"""Texts to predict on: a ``.txt`` of one text a line, tokenized once by the model's own
tokenizer (the one its file carries) into a folder of ragged token ids that workers read a
range at a time (``inputs.TokensInput``). Row ``i`` is line ``i + 1``, blank lines included,
so predictions line up with the file.
"""

from __future__ import annotations

import json
import shutil
from itertools import islice
from pathlib import Path

import numpy as np

from thrifty.datasets.text import no_tokenizer, reading_text
from thrifty.datasets.tokens import Encoding
from thrifty.errors import DataError

LINES_A_CALL = 8192  # texts tokenized at once: the tokenizer's batches, and bounded memory
ABOUT = "tokens.json"


def spill_texts(path: Path, encoding: Encoding | None, spill: Path) -> Path:
    """``path``'s lines as ``encoding``'s token ids in the folder ``spill``: ``ids.bin`` (every
    row's ids, int64, end to end), ``offsets.npy`` (where each row starts) and ``tokens.json``."""
    if encoding is None:
        raise no_tokenizer(path)
    shutil.rmtree(spill, ignore_errors=True)  # another job's spill, of other rows
    spill.mkdir()
    lengths, pad_id = [], 0
    written = (spill / "ids.bin").open("wb")
    with written as ids, reading_text(path), path.open(encoding="utf-8") as lines:
        while chunk := [line.rstrip("\r\n") for line in islice(lines, LINES_A_CALL)]:
            tokens = encoding(chunk)
            ids.write(tokens.ids.astype("<i8").tobytes())
            lengths.append(tokens.lengths)
            pad_id = tokens.pad_id
    if not lengths:
        raise DataError(f"{path} has no text; put one text a line")
    offsets = np.concatenate([[0], np.cumsum(np.concatenate(lengths))])
    np.save(spill / "offsets.npy", offsets)
    about = {
        "source": str(path.resolve()),
        "pad_id": pad_id,
        "with_type_ids": encoding.with_type_ids,
    }
    (spill / ABOUT).write_text(json.dumps(about))
    return spill
