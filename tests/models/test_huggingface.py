"""Hugging Face folders: all-MiniLM-L6-v2 as sentence-transformers saved it, tiny BERT and
DistilBERT folders built here, and the folders thrifty refuses."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

import thrifty as th
from thrifty.errors import CorruptModel, ModelError, PickleRefused, UnsafeModel

PARAPHRASES = ("A man is eating food.", "A man is eating a piece of bread.")
UNRELATED = "The stock market fell sharply on Monday."
TEXTS = (*PARAPHRASES, UNRELATED, "Hi", "a gloss " * 40)


def inputs(model: th.Model, texts) -> dict[str, np.ndarray]:
    return model.text_encoding(texts).feed()


def run_onnx(model: th.Model, feed: dict[str, np.ndarray]) -> np.ndarray:
    session = ort.InferenceSession(model.to_bytes(), providers=["CPUExecutionProvider"])
    return session.run(None, feed)[0]


def run_torch(model: th.Model, feed: dict[str, np.ndarray]) -> np.ndarray:
    with torch.no_grad():
        return model.module(*(torch.from_numpy(v) for v in feed.values())).numpy()


def test_minilm_loads_with_its_tokenizer_as_an_int64_graph(minilm, minilm_folder):
    graph = minilm.proto.graph
    assert [i.name for i in graph.input] == ["input_ids", "attention_mask", "token_type_ids"]
    assert {i.type.tensor_type.elem_type for i in graph.input} == {7}  # TensorProto.INT64
    assert [o.name for o in graph.output] == ["embedding"] and minilm.output_name == "embedding"
    assert minilm.metadata["max_length"] == 256  # sentence_bert_config.json, not 512 positions
    assert minilm.metadata["tokenizer"] == (minilm_folder / "tokenizer.json").read_text()
    assert not minilm.module.training


def test_minilm_onnx_agrees_with_its_module_in_plain_onnxruntime(minilm):
    feed = inputs(minilm, TEXTS)
    assert all(v.dtype == np.int64 for v in feed.values())
    exported = run_onnx(minilm, feed)
    assert exported.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(exported, run_torch(minilm, feed), atol=1e-4)


def test_minilm_embeddings_are_unit_norm_and_paraphrases_are_closest(minilm):
    embeddings = run_onnx(minilm, inputs(minilm, (*PARAPHRASES, UNRELATED)))
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    similar, unrelated = embeddings[0] @ embeddings[1], embeddings[0] @ embeddings[2]
    assert similar > unrelated + 0.2, (similar, unrelated)


def test_padding_changes_no_embedding(minilm):
    """A text alone and the same text padded in a batch with a longer one embed the same."""
    alone = run_onnx(minilm, inputs(minilm, ["Hi"]))
    padded = run_onnx(minilm, inputs(minilm, ["Hi", "a gloss " * 40]))
    np.testing.assert_allclose(alone[0], padded[0], atol=1e-5)


def tiny_folder(folder: Path, tokenizer_json: Path, model) -> Path:
    model.save_pretrained(folder)
    shutil.copy(tokenizer_json, folder / "tokenizer.json")
    return folder


def test_classification_folder_gives_logits_per_label(tmp_path, minilm_folder):
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        num_labels=3,
    )  # fmt: skip
    classifier = BertForSequenceClassification(config)  # save_pretrained writes safetensors
    model = th.load(tiny_folder(tmp_path, minilm_folder / "tokenizer.json", classifier))
    assert [o.name for o in model.proto.graph.output] == ["logits"]
    assert model.metadata["max_length"] == 512  # no sentence_bert_config.json: the positions
    feed = inputs(model, TEXTS)
    assert "token_type_ids" in feed
    logits = run_onnx(model, feed)
    assert logits.shape == (len(TEXTS), 3)
    np.testing.assert_allclose(logits, run_torch(model, feed), atol=1e-4)


def test_plain_distilbert_folder_is_mean_pooled_without_type_ids(tmp_path, minilm_folder):
    from transformers import DistilBertConfig, DistilBertModel

    torch.manual_seed(0)
    config = DistilBertConfig(dim=32, n_layers=2, n_heads=2, hidden_dim=64)
    model = th.load(
        tiny_folder(tmp_path, minilm_folder / "tokenizer.json", DistilBertModel(config))
    )
    assert [i.name for i in model.proto.graph.input] == ["input_ids", "attention_mask"]
    feed = inputs(model, TEXTS[:3])
    with torch.no_grad():
        hidden = model.module.transformer(**{k: torch.from_numpy(v) for k, v in feed.items()})
    mask = feed["attention_mask"][..., None]
    mean = (hidden.last_hidden_state.numpy() * mask).sum(1) / mask.sum(1)
    np.testing.assert_allclose(run_onnx(model, feed), mean, atol=1e-4)


def test_cls_pooling_takes_the_first_token(tmp_path, minilm_folder):
    from transformers import BertConfig, BertModel

    config = BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2)
    folder = tiny_folder(tmp_path, minilm_folder / "tokenizer.json", BertModel(config))
    write_pipeline(folder, {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})
    model = th.load(folder)
    feed = inputs(model, TEXTS[:3])
    with torch.no_grad():
        hidden = model.module.transformer(**{k: torch.from_numpy(v) for k, v in feed.items()})
    np.testing.assert_allclose(
        run_onnx(model, feed), hidden.last_hidden_state[:, 0].numpy(), atol=1e-4
    )


def write_pipeline(folder: Path, pooling: dict, extra: tuple[dict, ...] = ()) -> None:
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
        *extra,
    ]
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))


def test_weights_missing_from_the_checkpoint_are_refused(tmp_path, minilm_folder):
    """A classifier's config over an encoder's weights: its head would be random numbers."""
    from transformers import BertConfig, BertModel

    config = BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2)
    folder = tiny_folder(tmp_path, minilm_folder / "tokenizer.json", BertModel(config))
    settings = json.loads((folder / "config.json").read_text())
    settings["architectures"] = ["BertForSequenceClassification"]
    (folder / "config.json").write_text(json.dumps(settings))
    with pytest.raises(CorruptModel, match=r"model.safetensors lacks \d+ weights"):
        th.load(folder)


class Trap:
    """Unpickling this makes a file: the proof that a pickle ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_folder_with_only_a_pickle_is_refused_unopened(tmp_path):
    folder, marker = tmp_path / "bert", tmp_path / "unpickled"
    folder.mkdir()
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(Trap(marker)))
    with pytest.raises(PickleRefused, match="pytorch_model.bin.*save them as safetensors"):
        th.load(str(folder))
    (folder / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(PickleRefused):
        th.load(folder)
    assert not marker.exists()


def test_folder_without_config_json_gets_one_line(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(ModelError, match="has no config.json") as error:
        th.load(tmp_path)
    assert "\n" not in str(error.value)


REFUSED = {
    "no-tokenizer": ({"tokenizer.json": None}, ModelError, "has no tokenizer.json"),
    "remote-code": ({"config.json": {"auto_map": {"AutoModel": "x.Y"}}}, UnsafeModel, "auto_map"),
    "decoder-head": ({"config.json": {"architectures": ["GPT2LMHeadModel"]}}, ModelError,
                     "GPT2LMHeadModel; thrifty reads encoders"),
    "token-head": ({"config.json": {"architectures": ["BertForTokenClassification"]}},
                   ModelError, "BertForTokenClassification; thrifty reads encoders"),
    "dense-module": ({"modules.json": [{"type": "sentence_transformers.models.Dense"}]},
                     ModelError, "lists Dense, which thrifty does not run"),
    "pooling-outside": ({"modules.json": [{"type": "sentence_transformers.models.Pooling",
                                           "path": "../elsewhere"}]}, UnsafeModel, "outside"),
    "max-pooling": ({"modules.json": [{"type": "sentence_transformers.models.Pooling",
                                       "path": "pool"}],
                     "pool/config.json": {"pooling_mode_max_tokens": True}}, ModelError,
                    "pools by .'pooling_mode_max_tokens'."),
    "bad-json": ({"config.json": "{"}, CorruptModel, "not valid JSON"),
}  # fmt: skip


@pytest.mark.parametrize(("files", "error", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_folders_thrifty_cannot_run_are_refused_before_loading(tmp_path, files, error, message):
    files = {"config.json": {"architectures": ["BertModel"]}, "model.safetensors": b"",
             "tokenizer.json": {}, **files}  # fmt: skip
    for name, content in files.items():  # None: a file the folder lacks
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif content is not None:
            path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(error, match=message):
        th.load(tmp_path)
