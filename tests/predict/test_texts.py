"""Predicting on texts: a .txt, one text a line, tokenized by the tokenizer the model carries;
row i is line i + 1, and each text embeds as it does alone, whatever it is batched with."""

from __future__ import annotations

import shutil

import numpy as np
import onnxruntime as ort
import pyarrow.parquet as pq
import pytest
import torch

import thrifty as th
from thrifty.errors import DataError

TEXTS = ["A man is eating food.", "", "Hi", "a gloss " * 30, "The stock market fell.", "ok"]


@pytest.fixture(scope="module")
def encoder(tmp_path_factory, minilm_folder):
    """A tiny BERT with all-MiniLM-L6-v2's tokenizer, packed as a user ships it."""
    from transformers import BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny-bert")
    torch.manual_seed(0)
    config = BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64)  # fmt: skip
    BertModel(config).save_pretrained(folder / "bert")
    shutil.copy(minilm_folder / "tokenizer.json", folder / "bert" / "tokenizer.json")
    th.pack(folder / "bert", folder / "bert.thrifty")
    return folder / "bert.thrifty"


def alone(model: th.Model, text: str) -> np.ndarray:
    session = ort.InferenceSession(model.to_bytes(), providers=["CPUExecutionProvider"])
    return session.run(None, model.text_encoding([text]).feed())[0][0]


def test_each_line_is_a_row_embedded_as_it_is_alone(encoder, tmp_path):
    (tmp_path / "texts.txt").write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    done = th.predict(encoder, tmp_path / "texts.txt", tmp_path / "vectors.parquet",
                      workers=1, threads=1, batch_size=2)  # fmt: skip
    assert done.rows == len(TEXTS)
    table = pq.read_table(done.output).sort_by("row")
    vectors = np.stack(table["vector"].to_numpy(zero_copy_only=False))
    model = th.load(encoder)
    expected = np.stack([alone(model, text) for text in TEXTS])
    np.testing.assert_allclose(vectors, expected, atol=1e-5)  # padding and order change nothing


def test_texts_in_many_shards_and_workers(encoder, tmp_path, monkeypatch):
    import thrifty.predict.inputs as inputs

    monkeypatch.setattr(inputs, "SHARD_ROWS", 7)
    texts = [f"text number {i} " + "word " * (i % 13) for i in range(40)]
    (tmp_path / "texts.txt").write_text("\n".join(texts), encoding="utf-8")  # no final newline
    done = th.predict(encoder, tmp_path / "texts.txt", tmp_path / "out", workers=2, threads=1)
    table = pq.read_table(done.output).sort_by("row")
    assert table["row"].to_pylist() == list(range(40))
    model = th.load(encoder)
    got = np.stack(table["vector"].to_numpy(zero_copy_only=False))
    np.testing.assert_allclose(got[[0, 17, 39]], [alone(model, texts[i]) for i in (0, 17, 39)],
                               atol=1e-5)  # fmt: skip


def test_an_onnx_file_thrifty_wrote_carries_the_tokenizer(encoder, tmp_path):
    """A folder (or its ONNX file, as thrifty writes it) predicts on texts too: the tokenizer,
    its longest input and the task travel in the file's metadata properties."""
    folder = encoder.parent / "bert"
    model = th.load(folder)
    model.save(tmp_path / "bert.onnx")
    again = th.load(tmp_path / "bert.onnx")
    assert again.text_encoding == model.text_encoding and again.task == "embedding"
    (tmp_path / "texts.txt").write_text("Hi\nA man is eating food.\n", encoding="utf-8")
    for source in (folder, tmp_path / "bert.onnx"):
        done = th.predict(source, tmp_path / "texts.txt", tmp_path / f"{source.name}.parquet",
                          workers=1, threads=1)  # fmt: skip
        table = pq.read_table(done.output).sort_by("row")
        vectors = np.stack(table["vector"].to_numpy(zero_copy_only=False))
        np.testing.assert_allclose(vectors[1], alone(model, "A man is eating food."), atol=1e-5)


def test_texts_need_a_model_with_a_tokenizer(tmp_path):
    model = tmp_path / "digits.onnx"
    th.load(th.models.build("tabular-mlp", (64,), 10), input_shape=(64,)).save(model)
    (tmp_path / "texts.txt").write_text("hello\n", encoding="utf-8")
    with pytest.raises(DataError, match="is text, and the model has no tokenizer") as error:
        th.predict(model, tmp_path / "texts.txt", tmp_path / "p.parquet", workers=1)
    assert "\n" not in str(error.value)
    assert not (tmp_path / "p.parquet").exists()
