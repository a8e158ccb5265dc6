"""sentence-transformers' five CPU backends for a model folder, rebuilt as a user would run them
from the libraries themselves: sentence-transformers is not installed here, and nothing in this
file uses thrifty.

- ``torch-fp32``: transformers' ``AutoModel`` (or ``AutoModelForSequenceClassification``) from
  the folder, offline, in PyTorch eager;
- ``ort-fp32``: that module exported by ``torch.onnx.export`` (opset 17), in ONNX Runtime;
- ``ort-int8-dynamic``: ONNX Runtime's ``quantize_dynamic``, int8 weights per tensor, as
  sentence-transformers' ``export_dynamic_quantized_onnx_model`` asks (``per_channel=False``);
- ``openvino-fp32``: the ONNX file through ``ov.convert_model``, saved as IR with its weights left
  fp32 (``ov.save_model`` would halve them to fp16 unless told not to), compiled for the CPU
  with its defaults: on a CPU with AMX or avx512_bf16 the plugin then computes in bf16 (its
  ``INFERENCE_PRECISION_HINT``), as a user who does not set it gets;
- ``openvino-int8``: NNCF's ``nncf.quantize`` with ``model_type=TRANSFORMER`` on that model,
  calibrated on the sentences given (sentence-transformers' OpenVINO static int8 takes 300).

An encoder's pipeline is what its ``modules.json`` says (sentence-transformers' Transformer,
Pooling, Normalize): mean pooling over the attention mask, then L2 normalization. A folder
without one is a classifier: its logits. Each peer is a :class:`Runner`: a batch of token arrays
(``input_ids``, ``attention_mask``, ``token_type_ids``, int64) in, a row of floats per sentence
out, and the files it ships.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

Batch = dict[str, np.ndarray]
NAMES = ("torch-fp32", "ort-fp32", "ort-int8-dynamic", "openvino-fp32", "openvino-int8")
OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")  # as the modules' forward takes them


@dataclass(frozen=True)
class Runner:
    """One way to run the model, and what it would ship."""

    run: Callable[[Batch], np.ndarray]
    files: tuple[Path, ...]

    @property
    def bytes(self) -> int:
        return sum(path.stat().st_size for path in self.files)


def batches(folder: Path, texts: list[str], *, size: int, tokens: int) -> list[Batch]:
    """``texts`` through the folder's own tokenizer, cut and padded to ``tokens``, in batches of
    ``size``: the same arrays for every runner."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    encoded = tokenizer(texts, padding="max_length", truncation=True, max_length=tokens,
                        return_tensors="np")  # fmt: skip
    arrays = {name: np.asarray(values, np.int64) for name, values in encoded.items()}
    starts = range(0, len(texts), size)
    return [{name: a[i : i + size] for name, a in arrays.items()} for i in starts]


def peers(folder: Path, work: Path, calibration: list[Batch], *, threads: int) -> dict:
    """The five runners by name, their files written to ``work``; each runs on ``threads``."""
    work.mkdir(parents=True, exist_ok=True)
    module = pipeline(folder)
    onnx_file, int8_file = work / "model.onnx", work / "model-int8-dynamic.onnx"
    example = tuple(torch.from_numpy(calibration[0][name]) for name in INPUTS)
    with torch.no_grad():
        torch.onnx.export(
            module, example, onnx_file, dynamo=False, opset_version=OPSET,
            input_names=list(INPUTS), output_names=["output"],
            dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in INPUTS}, "output": {0: "batch"}},
        )  # fmt: skip
    quantize_dynamic(onnx_file, int8_file)
    fp32_ir, int8_ir = work / "openvino-fp32.xml", work / "openvino-int8.xml"
    openvino_fp32(onnx_file, fp32_ir)
    openvino_int8(onnx_file, calibration, int8_ir)
    return {
        "torch-fp32": Runner(torch_runner(module, threads), (folder / "model.safetensors",)),
        "ort-fp32": Runner(ort_runner(onnx_file, threads), (onnx_file,)),
        "ort-int8-dynamic": Runner(ort_runner(int8_file, threads), (int8_file,)),
        "openvino-fp32": Runner(openvino_runner(fp32_ir, threads), ir_files(fp32_ir)),
        "openvino-int8": Runner(openvino_runner(int8_ir, threads), ir_files(int8_ir)),
    }


def pipeline(folder: Path):
    """The folder's model as ``modules.json`` says: the encoder, mean pooling, normalization;
    a classifier's logits where the folder has no modules.json."""
    import transformers

    modules_file = folder / "modules.json"
    if not modules_file.is_file():
        return Logits(transformers.AutoModelForSequenceClassification.from_pretrained(
            folder, local_files_only=True)).eval()  # fmt: skip
    listed = json.loads(modules_file.read_text())
    modules = {m["type"].rsplit(".", 1)[-1]: m["path"] for m in listed}
    pooling = json.loads((folder / modules["Pooling"] / "config.json").read_text())
    if not pooling.get("pooling_mode_mean_tokens"):
        raise SystemExit(f"{folder} does not pool by the mean; this benchmark runs one that does")
    encoder = transformers.AutoModel.from_pretrained(folder / modules["Transformer"],
                                                     local_files_only=True)  # fmt: skip
    return Sentences(encoder, normalize="Normalize" in modules).eval()


class Sentences(nn.Module):
    """An encoder's tokens pooled by their mean over the attention mask (sentence-transformers'
    Pooling), L2-normalized if the pipeline says so."""

    def __init__(self, encoder: nn.Module, *, normalize: bool) -> None:
        super().__init__()
        self.encoder, self.normalize = encoder, normalize

    def forward(self, input_ids, attention_mask, token_type_ids):
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state  # fmt: skip
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return nn.functional.normalize(pooled, p=2, dim=1) if self.normalize else pooled


class Logits(nn.Module):
    """A sequence classifier's logits, from the same three inputs."""

    def __init__(self, classifier: nn.Module) -> None:
        super().__init__()
        self.classifier = classifier

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.classifier(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).logits  # fmt: skip


def torch_runner(module: nn.Module, threads: int) -> Callable[[Batch], np.ndarray]:
    def run(batch: Batch) -> np.ndarray:
        torch.set_num_threads(threads)  # the process's: set again in case a session changed it
        with torch.inference_mode():
            return module(**{n: torch.from_numpy(v) for n, v in batch.items()}).numpy()

    return run


def ort_runner(path: Path, threads: int) -> Callable[[Batch], np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return lambda batch: session.run(None, {n: batch[n] for n in names})[0]


def quantize_dynamic(fp32: Path, out: Path) -> None:
    from onnxruntime.quantization import QuantType
    from onnxruntime.quantization import quantize_dynamic as quantize

    quantize(fp32, out, per_channel=False, weight_type=QuantType.QInt8)


def openvino_fp32(onnx_file: Path, xml: Path) -> None:
    import openvino as ov

    ov.save_model(ov.convert_model(onnx_file), xml, compress_to_fp16=False)


def openvino_int8(onnx_file: Path, calibration: list[Batch], xml: Path) -> None:
    """NNCF's post-training int8, one calibration item per sentence."""
    import nncf
    import openvino as ov

    sentences = [{n: v[i : i + 1] for n, v in b.items()} for b in calibration
                 for i in range(len(b["input_ids"]))]  # fmt: skip
    quantized = nncf.quantize(
        ov.convert_model(onnx_file), nncf.Dataset(sentences),
        model_type=nncf.ModelType.TRANSFORMER, subset_size=len(sentences),
    )  # fmt: skip
    ov.save_model(quantized, xml, compress_to_fp16=False)


def openvino_runner(path: Path, threads: int) -> Callable[[Batch], np.ndarray]:
    """A compiled model (IR or ONNX) on the CPU plugin at ``threads``; its output copied, as
    the request's buffer is reused by the next batch."""
    import openvino as ov

    compiled = ov.Core().compile_model(path, "CPU", {"INFERENCE_NUM_THREADS": threads})
    request = compiled.create_infer_request()
    names = [port.get_any_name() for port in compiled.inputs]
    output = compiled.output(0)
    return lambda batch: request.infer({n: batch[n] for n in names})[output].copy()


def ir_files(xml: Path) -> tuple[Path, Path]:
    return xml, xml.with_suffix(".bin")
