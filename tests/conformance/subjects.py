"""The conformance table's rows: models nobody here designed, or trained here as users train
theirs (plain PyTorch, Keras, scikit-learn, Hugging Face transformers), each written as its
framework writes it, with its data as a user gives it, and rows held back that thrifty never sees.

Building a row trains a network briefly; the MiniLM classifier (a minute or two of fine-tuning)
is kept in ``.thrifty-cache/conformance/`` for as long as this file and the libraries are the same.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

import thrifty as th

os.environ.setdefault("KERAS_BACKEND", "torch")  # before Keras is first imported

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".thrifty-cache" / "conformance"
IMAGES, UNSEEN_IMAGES = 1200, 400  # rows given to thrifty; rows it never sees
TEXTS, UNSEEN_TEXTS = 300, 200


@dataclass(frozen=True)
class Subject:
    """A row: the model as a user gives it (a file or a folder) and its data.

    ``data`` is what thrifty is given (``load`` the keyword arguments ``thrifty.datasets.load``
    takes for it), ``unseen`` rows of the same kind it never sees, ``inputs`` a file of rows to
    ``predict``. ``max_drop`` is the optimizer's budget in the metric's points.
    """

    name: str
    model: Path
    data: Path
    unseen: Path
    inputs: Path
    load: dict = field(default_factory=dict)
    max_drop: float = 2.0
    time_budget: float = 20.0


@dataclass(frozen=True)
class Row:
    """How to build a subject, and what it is, in the README's words."""

    title: str
    build: Callable[[Path, object], Subject]  # (folder, pytest request) -> Subject


# ---- data as users keep it


def fashion_rows(fashion, rows: int, offset: int = 0, *, channels_last: bool = False):
    """Fashion-MNIST images as float32 pixels in [0, 1] (how most users feed a CNN they
    trained), N x 1 x 28 x 28 (or N x 28 x 28 x 1 for Keras), with their labels."""
    x = fashion.train.x[offset : offset + rows].reshape(-1, 1, 28, 28) / 255.0
    y = fashion.train.y[offset : offset + rows]
    return (x.transpose(0, 2, 3, 1) if channels_last else x).astype(np.float32), y


def image_files(folder: Path, fashion, *, channels_last: bool = False) -> tuple[Path, Path, Path]:
    """data.npz (x, y), unseen.npz (x, y) and inputs.npy (the unseen x): rows apart."""
    x, y = fashion_rows(fashion, IMAGES, channels_last=channels_last)
    ux, uy = fashion_rows(fashion, UNSEEN_IMAGES, IMAGES, channels_last=channels_last)
    np.savez(folder / "data.npz", x=x, y=y)
    np.savez(folder / "unseen.npz", x=ux, y=uy)
    np.save(folder / "inputs.npy", ux[:64])
    return folder / "data.npz", folder / "unseen.npz", folder / "inputs.npy"


def glosses(seed: int = 0):
    """``TEXTS + UNSEEN_TEXTS`` WordNet glosses drawn with a seed, with their categories."""
    from thrifty.datasets.text import wordnet_glosses

    texts, labels, classes = wordnet_glosses()
    chosen = np.random.default_rng(seed).choice(len(texts), TEXTS + UNSEEN_TEXTS, replace=False)
    return [texts[i] for i in chosen], [classes[labels[i]] for i in chosen]


def token_ids(folder: Path, texts: list[str]) -> dict[str, np.ndarray]:
    """Texts as a user's own tokenizer call gives them: padded to the longest, as int64."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(256)
    tokenizer.enable_padding()
    encoded = tokenizer.encode_batch(texts)
    return {
        "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
    }


# ---- the rows


def trained_briefly(module, x: np.ndarray, y: np.ndarray, epochs: int = 2):
    """A plain PyTorch training loop, as a user writes one."""
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(module.parameters(), lr=3e-3)
    xs, ys = torch.from_numpy(x), torch.from_numpy(y)
    module.train()
    for _ in range(epochs):
        for rows in torch.randperm(len(xs)).split(64):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(module(xs[rows]), ys[rows]).backward()
            optimizer.step()
    return module.eval()


def cnn(net: str, how: str) -> Callable[[Path, object], Subject]:
    def build(folder: Path, request) -> Subject:
        from conformance import nets

        fashion = request.getfixturevalue("fashion")
        data, unseen, inputs = image_files(folder, fashion)
        torch.manual_seed(0)
        with np.load(data) as rows:
            module = trained_briefly(nets.NETS[net](), rows["x"], rows["y"])
        path = folder / f"{net}.onnx"
        path.write_bytes(nets.export(module, how).SerializeToString())
        return Subject(f"{net}-{how}", path, data, unseen, inputs)

    return build


def zoo(name: str) -> Callable[[Path, object], Subject]:
    """A zoo network as ``thrifty train`` writes it, trained on the rows given (raw pixels;
    its scaling in its first layer), from Fashion-MNIST's test split."""

    def build(folder: Path, request) -> Subject:
        fashion = request.getfixturevalue("fashion")
        x, y = fashion.test.x[: IMAGES + UNSEEN_IMAGES], fashion.test.y[: IMAGES + UNSEEN_IMAGES]
        np.savez(folder / "data.npz", x=x[:IMAGES], y=y[:IMAGES])
        np.savez(folder / "unseen.npz", x=x[IMAGES:], y=y[IMAGES:])
        np.save(folder / "inputs.npy", x[IMAGES : IMAGES + 64])
        path = folder / f"{name}.onnx"
        th.train_baseline(name, folder / "data.npz", path, epochs=10)
        return Subject(name, path, folder / "data.npz", folder / "unseen.npz",
                       folder / "inputs.npy")  # fmt: skip

    return build


def scikit_learn_mlp(folder: Path, request) -> Subject:
    """scikit-learn's MLPClassifier on digits' raw 0..16 pixels, through skl2onnx."""
    from skl2onnx import to_onnx
    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier

    x, y = load_digits(return_X_y=True)
    x = x.astype(np.float32)
    given, held = slice(0, 1400), slice(1400, None)
    classifier = MLPClassifier((64,), max_iter=200, random_state=0).fit(x[given], y[given])
    proto = to_onnx(classifier, x[:1], options={"zipmap": False}, target_opset=17)
    path = folder / "mlp.onnx"
    path.write_bytes(proto.SerializeToString())
    np.savez(folder / "data.npz", x=x[given], y=y[given])
    np.savez(folder / "unseen.npz", x=x[held], y=y[held])
    np.save(folder / "inputs.npy", x[held][:64])
    return Subject("sklearn-mlp", path, folder / "data.npz", folder / "unseen.npz",
                   folder / "inputs.npy")  # fmt: skip


def keras_cnn(folder: Path, request) -> Subject:
    """A Keras 3 CNN (channels last), fitted briefly, saved as its ``.keras`` archive."""
    import keras

    fashion = request.getfixturevalue("fashion")
    data, unseen, inputs = image_files(folder, fashion, channels_last=True)
    keras.utils.set_random_seed(0)
    network = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(16, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    network.compile("adam", "sparse_categorical_crossentropy")
    with np.load(data) as rows:
        network.fit(rows["x"], rows["y"], epochs=3, batch_size=64, verbose=0)
    path = folder / "cnn.keras"
    network.save(path)
    return Subject("keras-cnn", path, data, unseen, inputs)


def minilm_folder(folder: Path, request) -> Subject:
    """all-MiniLM-L6-v2's folder as sentence-transformers saved it, on a .txt of glosses (and
    predicting on another)."""
    source = request.getfixturevalue("minilm_folder")
    texts, _ = glosses()
    (folder / "glosses.txt").write_text("\n".join(texts[:TEXTS]) + "\n", encoding="utf-8")
    (folder / "unseen.txt").write_text("\n".join(texts[TEXTS:]) + "\n", encoding="utf-8")
    (folder / "inputs.txt").write_text("\n".join(texts[TEXTS : TEXTS + 32]), encoding="utf-8")
    return Subject("minilm-folder", source, folder / "glosses.txt", folder / "unseen.txt",
                   folder / "inputs.txt", time_budget=180.0)  # fmt: skip


class Sentences(torch.nn.Module):
    """all-MiniLM-L6-v2 with sentence-transformers' mean pooling and normalization, as a user
    wraps a transformers encoder to export it with ``torch.onnx``."""

    def __init__(self, encoder) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids, attention_mask, token_type_ids):
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(mean, dim=1)


def minilm_onnx(folder: Path, request) -> Subject:
    """all-MiniLM-L6-v2 exported by ``torch.onnx`` (opset 17, dynamic batch and length), fed an
    .npz of the token ids the user's tokenizer made: no targets, so scored against the original."""
    from transformers import AutoModel

    source = request.getfixturevalue("minilm_folder")
    texts, _ = glosses()
    encoder = AutoModel.from_pretrained(source, local_files_only=True)
    given, held = token_ids(source, texts[:TEXTS]), token_ids(source, texts[TEXTS:])
    names = list(given)
    axes = {name: {0: "batch", 1: "length"} for name in names}
    path = folder / "minilm.onnx"
    torch.onnx.export(
        Sentences(encoder).eval(), tuple(torch.from_numpy(given[n][:2]) for n in names), path,
        dynamo=False, opset_version=17, input_names=names, output_names=["sentence_embedding"],
        dynamic_axes={**axes, "sentence_embedding": {0: "batch"}},
    )  # fmt: skip
    np.savez(folder / "tokens.npz", **given)
    np.savez(folder / "unseen.npz", **held)
    np.savez(folder / "inputs.npz", **{n: a[:32] for n, a in held.items()})
    return Subject("minilm-onnx", path, folder / "tokens.npz", folder / "unseen.npz",
                   folder / "inputs.npz", time_budget=180.0)  # fmt: skip


def minilm_classifier(folder: Path, request) -> Subject:
    """all-MiniLM-L6-v2's encoder with a ``BertForSequenceClassification`` head, fine-tuned on
    the glosses' lexicographer categories, saved by ``save_pretrained``; its data a .csv."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    source = request.getfixturevalue("minilm_folder")
    texts, categories = glosses(seed=1)
    saved = _classifier(source, texts[:TEXTS], categories[:TEXTS])
    known = set(categories[:TEXTS])  # the unseen rows of other categories: it cannot know them
    unseen = [(t, c) for t, c in zip(texts[TEXTS:], categories[TEXTS:], strict=True) if c in known]
    for name, rows in (("glosses.csv", list(zip(texts[:TEXTS], categories[:TEXTS], strict=True))),
                       ("unseen.csv", unseen)):  # fmt: skip
        gloss, category = zip(*rows, strict=True)
        pacsv.write_csv(pa.table({"gloss": gloss, "category": category}), folder / name)
    (folder / "inputs.txt").write_text("\n".join(texts[TEXTS : TEXTS + 32]), encoding="utf-8")
    return Subject("minilm-classifier", saved, folder / "glosses.csv", folder / "unseen.csv",
                   folder / "inputs.txt", load={"text": "gloss", "target": "category"},
                   max_drop=5.0, time_budget=180.0)  # fmt: skip


def _classifier(source: Path, texts: list[str], categories: list[str]) -> Path:
    import tokenizers
    import transformers

    key = hashlib.sha256(Path(__file__).read_bytes())
    key.update(f"{torch.__version__} {transformers.__version__} {tokenizers.__version__}".encode())
    saved = CACHE / f"minilm-glosses-{key.hexdigest()[:16]}"
    if (saved / "model.safetensors").is_file():
        return saved
    classes = sorted(set(categories))
    encoder = transformers.BertForSequenceClassification.from_pretrained(
        source, local_files_only=True, num_labels=len(classes),
        id2label=dict(enumerate(classes)), label2id={c: i for i, c in enumerate(classes)},
    )  # fmt: skip
    feed = token_ids(source, texts)
    labels = torch.tensor([classes.index(c) for c in categories])
    torch.manual_seed(0)
    optimizer = torch.optim.AdamW(encoder.parameters(), lr=1e-4)
    encoder.train()
    for _ in range(3):
        for rows in torch.randperm(len(labels)).split(32):
            batch = {name: torch.from_numpy(array[rows.numpy()]) for name, array in feed.items()}
            optimizer.zero_grad()
            encoder(**batch, labels=labels[rows]).loss.backward()
            optimizer.step()
    partial = saved.with_name(saved.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    encoder.eval().save_pretrained(partial)
    shutil.copy(source / "tokenizer.json", partial / "tokenizer.json")
    partial.rename(saved)
    return saved


ROWS: dict[str, Row] = {
    "minilm-folder": Row("all-MiniLM-L6-v2, its Hugging Face folder; glosses as .txt (embedding)",
                         minilm_folder),
    "minilm-onnx": Row("all-MiniLM-L6-v2 exported by `torch.onnx` (opset 17) with mean pooling; "
                       "token ids as .npz, no targets (embedding)", minilm_onnx),
    "minilm-classifier": Row("all-MiniLM-L6-v2 + `BertForSequenceClassification` head, "
                             "fine-tuned on the glosses' categories; .csv (accuracy)",
                             minilm_classifier),
    "resnet18-opset13": Row("ResNet-18 in plain PyTorch, `torch.onnx` opset 13",
                            cnn("resnet18", "opset13")),
    "resnet18-opset17": Row("the same, opset 17, BatchNormalization nodes kept",
                            cnn("resnet18", "opset17-batchnorm")),
    "mobilenet_v2-opset13": Row("MobileNetV2 in plain PyTorch, `torch.onnx` opset 13",
                                cnn("mobilenet_v2", "opset13")),
    "mobilenet_v2-opset17": Row("the same, opset 17, BatchNormalization nodes kept",
                                cnn("mobilenet_v2", "opset17-batchnorm")),
    "sklearn-mlp": Row("scikit-learn `MLPClassifier` through skl2onnx, on raw digits",
                       scikit_learn_mlp),
    "keras-cnn": Row("a Keras 3 CNN (channels last), its `.keras` file", keras_cnn),
    "lenet-300-100": Row("the zoo's LeNet-300-100 as `thrifty train` writes it",
                         zoo("lenet-300-100")),
    "lenet-5": Row("the zoo's LeNet-5 as `thrifty train` writes it", zoo("lenet-5")),
}  # fmt: skip
