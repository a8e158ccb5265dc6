"""all-MiniLM-L6-v2 on WordNet's glosses, as a user brings them: a folder and a .txt of texts,
tokenized by the model's own tokenizer, scored by agreement with the original's vectors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest

import thrifty as th
from thrifty.datasets.metrics import Metric, score
from thrifty.datasets.text import wordnet_glosses
from thrifty.errors import DataError

ROWS = 300


@pytest.fixture(scope="module")
def glosses(tmp_path_factory):
    """``ROWS`` glosses drawn with a seed, one a line."""
    texts, _, _ = wordnet_glosses()
    chosen = np.random.default_rng(0).choice(len(texts), ROWS, replace=False)
    path = tmp_path_factory.mktemp("glosses") / "glosses.txt"
    path.write_text("".join(texts[i] + "\n" for i in chosen), encoding="utf-8")
    return path


def test_texts_become_the_models_tokens_and_an_embedding_task(minilm, glosses):
    data = th.datasets.load(glosses, model=minilm)
    assert data.task == "embedding" and data.metric.spec == "spearman" and data.needs_reference
    assert data.train.x.names == ("input_ids", "attention_mask", "token_type_ids")
    assert len(data.train) + len(data.val) + len(data.test) == ROWS
    batch = data.test.x.take(slice(0, 8)).feed()["input_ids"]
    assert batch.shape[1] == data.test.x.take(slice(0, 8)).lengths.max() < 256  # padded per batch


def test_the_model_against_itself_agrees_fully(minilm, glosses):
    cost = th.profile(minilm, th.datasets.load(glosses, model=minilm), timing_budget_s=0.05)
    assert cost.quality.metric == "spearman" and cost.quality.value == pytest.approx(1.0)


def test_int8_keeps_the_geometry_in_plain_onnxruntime(minilm, glosses):
    data = th.datasets.load(glosses, model=minilm)
    smaller = th.compress(minilm, "quantize:int8-dynamic", data)
    assert len(smaller.to_bytes()) < len(minilm.to_bytes()) / 3
    feed = data.test.x.feed()
    vectors = [
        ort.InferenceSession(m.to_bytes(), providers=["CPUExecutionProvider"]).run(None, feed)[0]
        for m in (minilm, smaller)
    ]
    assert score(Metric("spearman"), vectors[1], vectors[0], None) > 0.95


def test_text_needs_a_model_with_a_tokenizer(glosses, digits, tmp_path):
    with pytest.raises(DataError, match="is text, and the model has no tokenizer"):
        th.datasets.load(glosses)
    model = tmp_path / "digits.onnx"
    th.load(th.models.build("tabular-mlp", (64,), 10), input_shape=(64,)).save(model)
    done = subprocess.run(
        [sys.executable, "-m", "thrifty.cli", "profile", str(model), "-d", str(glosses)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "is text, and the model has no tokenizer" in done.stderr


@pytest.mark.slow  # a minute: loading the folder, then a second of timing probes of each kind
def test_profile_a_folder_from_the_command_line(minilm_folder, glosses):
    done = subprocess.run(
        [sys.executable, "-m", "thrifty.cli", "profile", str(minilm_folder), "-d", str(glosses),
         "--json"], capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["quality"]["metric"] == "spearman" and report["quality"]["value"] == 1.0


@pytest.mark.slow  # packing 22.7M weights, then a prediction job's workers each loading them
def test_the_tokenizer_travels_in_the_pack_and_predict_writes_vectors(minilm, glosses, tmp_path):
    import pyarrow.parquet as pq

    th.pack(minilm, tmp_path / "minilm.thrifty")
    pulled = th.unpack(tmp_path / "minilm.thrifty")
    assert pulled.text_encoding == minilm.text_encoding and pulled.task == "embedding"
    texts = glosses.read_text(encoding="utf-8").splitlines()[:40]
    tokens = pulled.text_encoding(texts).feed()
    np.savez(tmp_path / "tokens.npz", **tokens)
    done = th.predict(tmp_path / "minilm.thrifty", tmp_path / "tokens.npz",
                      tmp_path / "vectors.parquet", workers=1, threads=2)  # fmt: skip
    table = pq.read_table(done.output).sort_by("row")
    vectors = np.stack(table["vector"].to_numpy(zero_copy_only=False))
    session = ort.InferenceSession(minilm.to_bytes(), providers=["CPUExecutionProvider"])
    assert np.allclose(vectors, session.run(None, tokens)[0], atol=1e-5)


def test_a_transformers_macs_are_counted_at_a_texts_length(minilm):
    from thrifty.measure import count_layers

    one, sixteen = (sum(layer.macs for layer in count_layers(minilm.proto, n)) for n in (1, 16))
    assert sixteen == 16 * one  # the weight products grow with the tokens
    per_token = 6 * (4 * 384 * 384 + 2 * 384 * 1536)  # 6 layers: Q, K, V, out; the MLP
    assert one == pytest.approx(per_token, rel=0.02)
    assert sum(layer.macs for layer in count_layers(minilm.proto)) == 0  # no length: unknown
