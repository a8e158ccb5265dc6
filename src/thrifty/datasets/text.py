"""Users' texts: ``.txt`` (one text a line), ``.csv`` and ``.parquet`` (a text column and an
optional target column), and WordNet's glosses (Debian's ``wordnet-base``) as a real text set.

Each reader returns ``(texts, labels, classes)``: ``labels`` are class indices into ``classes``,
or ``None`` when the texts carry no target.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from thrifty.errors import DataError, DatasetNotInstalled

if TYPE_CHECKING:
    from collections.abc import Sequence

    from thrifty.datasets.base import Dataset
    from thrifty.datasets.tokens import Encoding

Texts = tuple[list[str], np.ndarray | None, tuple[str, ...] | None]

TEXT_SUFFIXES = (".txt", ".csv", ".parquet")
WORDNET_DIR = Path("/usr/share/wordnet")  # where `dpkg -L wordnet-base` puts data.noun & co.
WORDNET_PARTS = ("data.noun", "data.verb", "data.adj", "data.adv")
# lexnames(5WN): the 45 lexicographer files; a synset's lex_filenum indexes this table. The
# package ships the man page but not the lexnames file itself.
LEXNAMES = (
    "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact",
    "noun.attribute", "noun.body", "noun.cognition", "noun.communication", "noun.event",
    "noun.feeling", "noun.food", "noun.group", "noun.location", "noun.motive", "noun.object",
    "noun.person", "noun.phenomenon", "noun.plant", "noun.possession", "noun.process",
    "noun.quantity", "noun.relation", "noun.shape", "noun.state", "noun.substance", "noun.time",
    "verb.body", "verb.change", "verb.cognition", "verb.communication", "verb.competition",
    "verb.consumption", "verb.contact", "verb.creation", "verb.emotion", "verb.motion",
    "verb.perception", "verb.possession", "verb.social", "verb.stative", "verb.weather",
    "adj.ppl",
)  # fmt: skip


def read_texts(path: Path, *, text: str | None = None, target: str | None = None) -> Texts:
    """The texts (and targets) of a ``.txt``, ``.csv`` or ``.parquet`` file."""
    suffix = path.suffix.lower()
    if suffix == ".txt":
        if text or target:
            raise DataError(
                f"{path} is plain text, one text a line, without columns for --text or --target; "
                "put texts and targets in a .csv or .parquet file to name columns"
            )
        return read_lines(path)
    if suffix in (".csv", ".parquet"):
        return read_table(path, text=text, target=target)
    raise DataError(f"{path}: thrifty reads texts from {', '.join(TEXT_SUFFIXES)}, not {suffix!r}")


def read_lines(path: Path) -> Texts:
    """One text a line, in UTF-8; blank lines are skipped."""
    with reading_text(path):
        lines = path.read_text(encoding="utf-8").splitlines()
    texts = [line.strip() for line in lines if line.strip()]
    if not texts:
        raise DataError(f"{path} has no text; put one text a line")
    return texts, None, None


@contextmanager
def reading_text(path: Path):
    """A text file's decoding and reading errors, as one line naming it."""
    try:
        yield
    except UnicodeDecodeError as error:
        raise DataError(
            f"{path} is not UTF-8 text (byte {error.start}); save it as UTF-8"
        ) from None
    except OSError as error:
        raise DataError(f"{path} could not be read ({error.strerror})") from None


def no_tokenizer(source: str | Path) -> DataError:
    """The error for texts given to a model that carries no tokenizer."""
    return DataError(
        f"{source} is text, and the model has no tokenizer to read it with; give a Hugging "
        "Face folder with its tokenizer.json (or a file thrifty wrote from one), or the token "
        "ids themselves (.npz)"
    )


def read_table(path: Path, *, text: str | None, target: str | None = None) -> Texts:
    """The ``text`` column of a ``.csv`` or ``.parquet`` file, and its ``target`` column's
    classes if named."""
    import pyarrow as pa

    from thrifty.datasets.files import open_table

    table = open_table(path)
    columns = table.column_names
    if text is None:
        raise DataError(f"{path}: name the column of texts with --text; columns: {columns}")
    for flag, name in (("--text", text), ("--target", target)):
        if name is not None and name not in columns:
            raise DataError(f"{path} has no column {name!r} ({flag}); columns: {columns}")
    kind = table.schema.field(text).type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise DataError(
            f"{path}: column {text!r} holds {kind}, not text; name the column of texts with --text"
        )
    for name in filter(None, (text, target)):
        if table.column(name).null_count:
            raise DataError(
                f"{path}: column {name!r} has {table.column(name).null_count} empty rows; "
                "fill or drop those rows first"
            )
    texts = table.column(text).to_pylist()
    if target is None:
        return texts, None, None
    targets = table.column(target).to_numpy(zero_copy_only=False)
    values, labels = np.unique(targets, return_inverse=True)
    return texts, labels.astype(np.int64), tuple(str(v) for v in values)


def wordnet_glosses(folder: Path = WORDNET_DIR) -> Texts:
    """WordNet 3.0's 117,659 glosses, each labelled with its lexicographer file (45 classes,
    ``noun.animal``, ``verb.motion``...): a text classification task, or unlabelled sentences.

    A data line (wndb(5WN)) is ``offset lex_filenum ss_type ... | gloss``; the lines that start
    with two spaces are the licence.
    """
    texts: list[str] = []
    labels: list[int] = []
    for part in WORDNET_PARTS:
        path = folder / part
        if not path.is_file():
            raise DatasetNotInstalled(
                f"WordNet's glosses are not installed (missing {path}): run "
                "`sudo apt-get install wordnet-base`"
            )
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if line.startswith("  "):
                    continue
                head, bar, gloss = line.partition(" | ")
                fields = head.split(" ", 2)
                if not bar or len(fields) < 3 or not fields[1].isdigit():
                    raise DataError(
                        f"{path} line {number} is not a WordNet data line; reinstall wordnet-base"
                    )
                category = int(fields[1])
                if category >= len(LEXNAMES):
                    raise DataError(
                        f"{path} line {number} names lexicographer file {category}, past the "
                        f"{len(LEXNAMES)} of WordNet 3.0; reinstall wordnet-base"
                    )
                texts.append(gloss.strip())
                labels.append(category)
    return texts, np.array(labels, np.int64), LEXNAMES


def as_labels(read: Texts, labels: Sequence[str] | None, source: str) -> Texts:
    """Texts whose targets are named as a classifier's outputs (``labels``, in order): each
    target becomes its label's index, so rows that hold only some of the classes still score
    against the right outputs. As read when the model names none or the texts have no targets."""
    texts, targets, classes = read
    if labels is None or targets is None:
        return read
    names = [classes[i] for i in targets]
    unknown = sorted(set(names) - set(labels))
    if unknown:
        raise DataError(
            f"{source}: targets {unknown[:5]} are not among the model's {len(labels)} labels "
            f"(its config.json's id2label, e.g. {list(labels[:3])}); drop those rows"
        )
    index = {label: i for i, label in enumerate(labels)}
    return texts, np.array([index[n] for n in names], dtype=np.int64), tuple(labels)


def from_texts(
    name: str,
    read: Texts,
    *,
    encoding: Encoding | None,
    task: str | None,
    seed: int,
    source: str,
) -> Dataset:
    """Texts as a model's token ids (``encoding``: the model's tokenizer), split 65/15/20.

    With labels and no other ``task``: classification. Otherwise an ``embedding`` task, whose
    targets are the original model's vectors, filled in when a model first runs on it.
    """
    from thrifty.datasets.rows import from_rows

    texts, labels, classes = read
    if encoding is None:
        raise no_tokenizer(source)
    if not texts:
        raise DataError(f"{source} holds no text")
    task = task or ("classification" if labels is not None else "embedding")
    if task == "embedding":
        data = from_rows(name, encoding(texts), np.zeros(len(texts)), seed, source=source,
                         task=task)  # fmt: skip
        return data.with_reference(lambda x: None)
    if labels is None:
        raise DataError(f"{source} has no labels for {task}; name the column with --target")
    return from_rows(name, encoding(texts), labels, seed, source=source, task=task, classes=classes)


TEXTS = {"wordnet-glosses": wordnet_glosses}  # bundled text sets, by name
