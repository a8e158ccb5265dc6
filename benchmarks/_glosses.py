"""WordNet's glosses as the transformers benchmark parts them, and the classifier it fine-tunes
on them.

One seeded shuffle of the 117,659 glosses parts them, without overlap, into the sentences every
entry is measured on (held out from everything else), the glosses thrifty's search is given,
and the training glosses: the classifier's fine-tuning and OpenVINO int8's calibration.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from thrifty.datasets.text import LEXNAMES, wordnet_glosses
from thrifty.errors import DataError

LEARNING_RATE = 1e-4  # AdamW's, for a short fine-tuning of the head and the encoder together
TRAIN_BATCH = 32


@dataclass(frozen=True)
class Glosses:
    texts: list[str]
    labels: np.ndarray  # each gloss's lexicographer category: an index into LEXNAMES

    def __len__(self) -> int:
        return len(self.texts)


def parts(sizes: dict[str, int], seed: int = 0) -> dict[str, Glosses]:
    """Disjoint parts of the shuffled glosses, of ``sizes`` by name, in that order."""
    texts, labels, _ = wordnet_glosses()
    if sum(sizes.values()) > len(texts):
        raise DataError(
            f"the parts ask for {sum(sizes.values()):,} glosses and WordNet has {len(texts):,}; "
            "ask for fewer"
        )
    order = np.random.default_rng(seed).permutation(len(texts))
    found, start = {}, 0
    for name, size in sizes.items():
        rows = order[start : start + size]
        found[name] = Glosses([texts[i] for i in rows], labels[rows])
        start += size
    return found


def write_texts(glosses: Glosses, path: Path) -> Path:
    """One gloss a line: the unlabelled texts an encoder's search is given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(text + "\n" for text in glosses.texts), encoding="utf-8")
    return path


def write_table(glosses: Glosses, path: Path) -> Path:
    """A .csv of ``gloss`` and ``category`` (its name): the labelled rows a classifier's
    search is given."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    path.parent.mkdir(parents=True, exist_ok=True)
    categories = [LEXNAMES[i] for i in glosses.labels]
    pacsv.write_csv(pa.table({"gloss": glosses.texts, "category": categories}), path)
    return path


def fine_tune(encoder: Path, train: Glosses, *, epochs: int, tokens: int, out: Path) -> Path:
    """The encoder with ``BertForSequenceClassification``'s head (a linear layer over BERT's
    pooled vector) for the 45 categories, fine-tuned on ``train``, and saved by
    ``save_pretrained`` with its tokenizer: a folder transformers and ``th.load`` both read,
    so the peers and thrifty start from the same classifier. Kept in ``out``, which names the
    settings; delete it to fine-tune again."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    if (out / "model.safetensors").is_file():
        return out
    tokenizer = AutoTokenizer.from_pretrained(encoder, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        encoder, local_files_only=True, num_labels=len(LEXNAMES),
        id2label=dict(enumerate(LEXNAMES)), label2id={c: i for i, c in enumerate(LEXNAMES)},
    )  # fmt: skip
    torch.manual_seed(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)
    labels = torch.from_numpy(train.labels)
    model.train()
    for _ in range(epochs):
        for rows in torch.randperm(len(train)).split(TRAIN_BATCH):
            batch = tokenizer([train.texts[i] for i in rows], padding=True, truncation=True,
                              max_length=tokens, return_tensors="pt")  # fmt: skip
            optimizer.zero_grad()
            model(**batch, labels=labels[rows]).loss.backward()
            optimizer.step()
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.eval().save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    partial.rename(out)
    return out
