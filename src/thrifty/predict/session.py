"""Runtime sessions: one small interface, ``Session.run(batch)``, over ONNX Runtime, OpenVINO and
PyTorch (dense, or with pruned layers run as sparse matrices: ``torch-sparse``). ``with
open_session(...) as session:`` closes it at the block's end."""

from __future__ import annotations

import os
import weakref
from typing import Literal, Protocol

import numpy as np

from thrifty.errors import ModelError, RuntimeUnavailable
from thrifty.models.model import Model, bind

Runtime = Literal["onnxruntime", "openvino", "torch", "torch-sparse"]
Device = Literal["auto", "cpu", "cuda"]
Precision = Literal["auto", "fp32", "fp16", "bf16"]
PRECISIONS: tuple[Precision, ...] = ("auto", "fp32", "fp16", "bf16")
RUNTIMES: tuple[Runtime, ...] = ("onnxruntime", "openvino", "torch", "torch-sparse")


class Session(Protocol):
    runtime: str
    device: str  # what it runs on: "cpu" or "cuda", never "auto"
    threads: int

    def run(self, batch: np.ndarray) -> np.ndarray:
        """The model's scores (or values) for a batch of samples, as a NumPy array."""
        ...

    def close(self) -> None:
        """Give back what the session holds (PyTorch's: the process's thread count)."""
        ...

    def __enter__(self) -> Session: ...

    def __exit__(self, *exc_info) -> None: ...


class Closing:
    """``with`` a session: its ``close`` at the block's end."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def available_cores() -> int:
    """The cores this process may run on (respects taskset and container CPU sets)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def open_session(
    model: Model,
    runtime: Runtime = "onnxruntime",
    device: Device = "auto",
    threads: int | None = None,
    precision: Precision = "fp32",
) -> Session:
    """A session for ``model`` on ``runtime``; ``device="auto"`` takes a GPU when there is one.

    ``precision`` applies to PyTorch on a GPU: ``fp16`` or ``bf16`` run under autocast, which
    lowers the operations PyTorch deems safe (matrix products, convolutions) and keeps the rest
    in fp32; ``auto`` takes bf16 where the GPU has it, else fp16. OpenVINO lowers only when asked
    (``fp16`` or ``bf16``, see ``OpenVinoSession``). Everywhere else: fp32.
    """
    threads = threads or available_cores()
    if threads < 1:
        raise ModelError(f"threads must be at least 1, got {threads}")
    if precision not in PRECISIONS:
        raise ModelError(f"unknown precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    if runtime == "onnxruntime":
        return OrtSession(model, device, threads)
    if runtime == "openvino":
        return OpenVinoSession(model, device, threads, precision)
    if runtime in ("torch", "torch-sparse"):
        return TorchSession(model, device, threads, precision, sparse=runtime == "torch-sparse")
    raise ModelError(f"unknown runtime {runtime!r}: choose one of {', '.join(RUNTIMES)}")


class OrtSession(Closing):
    """ONNX Runtime, on its CPU provider or, where installed, its CUDA provider. Its threads are
    its own (``intra_op_num_threads``)."""

    runtime = "onnxruntime"

    def __init__(self, model: Model, device: Device, threads: int):
        import onnxruntime as ort

        has_cuda = "CUDAExecutionProvider" in ort.get_available_providers()
        self.device = _pick(device, has_cuda, "onnxruntime-gpu's CUDA provider")
        self.threads = threads
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        providers = ["CUDAExecutionProvider"] if self.device == "cuda" else []
        self._session = ort.InferenceSession(
            model.to_bytes(), options, providers=[*providers, "CPUExecutionProvider"]
        )
        self._inputs = model.input_dtypes
        self._output = [model.output_name]

    def run(self, batch) -> np.ndarray:
        """Scores for a batch: an array (a model of one input), or arrays by input name."""
        return self._session.run(self._output, bind(self._inputs, batch))[0]

    def close(self) -> None:
        """Free ONNX Runtime's session now rather than when this one is collected."""
        del self._session


class OpenVinoSession(Closing):
    """OpenVINO on the CPU, on ``threads`` threads in one stream, not pinned to cores: pinned,
    each process's threads take the cores from the first on, so the local pool's workers would
    share them (Intel's knowledge base, article 000058227).

    Its arithmetic is asked for, not left to the CPU: ``fp32`` (and ``auto``) compute in float32,
    although OpenVINO's own default on CPUs with AMX or AVX512-BF16 is bfloat16; ``bf16`` and
    ``fp16`` lower the matrix products and convolutions to that type where the CPU computes in it
    (OpenVINO's optimization capabilities), and refuse where it does not.

    It runs one batch at a time (one inference request), as thrifty's callers run it.
    """

    runtime = "openvino"

    def __init__(self, model: Model, device: Device, threads: int, precision: Precision):
        import openvino as ov

        self.device = _pick(device, False, "OpenVINO on a CUDA GPU")  # auto: the CPU
        self.precision = "fp32" if precision == "auto" else precision
        core = ov.Core()
        computes = ("FP32", *core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"))
        if self.precision.upper() not in computes:
            raise RuntimeUnavailable(
                f"this CPU does not compute in {self.precision} under OpenVINO; "
                "use --precision fp32"
            )
        types = {"fp32": ov.Type.f32, "bf16": ov.Type.bf16, "fp16": ov.Type.f16}
        config = {
            "INFERENCE_NUM_THREADS": threads,
            "NUM_STREAMS": 1,
            "ENABLE_CPU_PINNING": False,
            "INFERENCE_PRECISION_HINT": types[self.precision],
        }
        try:  # the ONNX file from memory: OpenVINO's ONNX reader takes its bytes
            compiled = core.compile_model(core.read_model(model.to_bytes()), "CPU", config)
        except RuntimeError as error:
            raise ModelError(
                f"OpenVINO cannot run model {model.name!r} ({_reason(error)}); "
                "use --runtime onnxruntime"
            ) from None
        self.threads = compiled.get_property("INFERENCE_NUM_THREADS")  # at most the cores
        self._request = compiled.create_infer_request()
        self._output = compiled.output(model.output_name)
        self._inputs = model.input_dtypes

    def run(self, batch) -> np.ndarray:
        """Scores for a batch: an array (a model of one input), or arrays by input name."""
        return self._request.infer(bind(self._inputs, batch), share_inputs=True)[self._output]

    def close(self) -> None:
        """Free the compiled model now rather than when this session is collected."""
        del self._request, self._output


def _reason(error: RuntimeError) -> str:
    """OpenVINO's message without its source locations and headings: ``No conversion rule
    found for operations: com.example.Foo``."""
    lines = [line.strip(" -") for line in str(error).splitlines()]
    said = [line for line in lines if line and not line.endswith(":") and "http" not in line]
    return " ".join(said)[:200] or type(error).__name__


class TorchSession(Closing):
    """PyTorch eager, on the CPU or a CUDA GPU: the model's own module, or its graph converted.

    PyTorch's thread count is the whole process's (``torch.set_num_threads``), not a session's.
    A session sets it to its ``threads`` when opened, sets it again before a run if another
    session changed it since, and puts back the count it found when it is closed or collected.
    Close sessions in the reverse order of opening (``with`` blocks do), or the count put back
    last is another session's.
    """

    def __init__(
        self,
        model: Model,
        device: Device,
        threads: int,
        precision: Precision = "fp32",
        sparse: bool = False,
    ):
        import torch

        if model.module is None:  # a file: run its graph as a PyTorch module
            from thrifty.models.onnx_torch import to_torch

            model.module = to_torch(model)
        if sparse and device == "cuda":
            raise RuntimeUnavailable("runtime 'torch-sparse' runs on the CPU; use --device cpu")
        device = "cpu" if sparse else device  # "auto" too: the sparse kernels timed are MKL's
        self.device = _pick(device, torch.cuda.is_available(), "a CUDA GPU for PyTorch")
        self.threads = threads
        self._restore = weakref.finalize(self, torch.set_num_threads, torch.get_num_threads())
        torch.set_num_threads(threads)
        self._torch = torch
        self._module = model.module.eval().to(self.device)
        self.precision = _lowered(precision, self.device, torch)
        self.runtime = "torch-sparse" if sparse else "torch"
        self.sparse_layers: list[str] = []  # the layers run as sparse matrices
        if sparse:
            self._sparsify()

    def _sparsify(self) -> None:
        import copy

        from thrifty.predict.sparse import sparsify

        self._module = copy.deepcopy(self._module)  # the model's own module stays dense
        self.sparse_layers = sparsify(self._module)  # timed on this session's threads

    def run(self, batch) -> np.ndarray:
        """Scores for a NumPy batch (an array, or arrays by input name), or a torch tensor (a
        DLPack view stays where it is); a memmap is copied."""
        from thrifty.models.feeding import forward, to_tensors

        torch = self._torch
        if torch.get_num_threads() != self.threads:  # another session ran since
            torch.set_num_threads(self.threads)
        dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(self.precision)
        with (
            torch.inference_mode(),
            torch.autocast(self.device, dtype=dtype, enabled=dtype is not None),
        ):
            out = forward(self._module, to_tensors(batch, self.device))
        return out.float().cpu().numpy()

    def close(self) -> None:
        """Put back the process's thread count as this session found it."""
        self._restore()


def _lowered(precision: Precision, device: str, torch) -> str:
    """The precision a PyTorch session runs at: lowered only on a GPU."""
    if device != "cuda" or precision == "fp32":
        return "fp32"
    if precision == "auto":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return precision


def _pick(device: Device, has_cuda: bool, what: str) -> str:
    if device == "auto":
        return "cuda" if has_cuda else "cpu"
    if device == "cuda" and not has_cuda:
        raise RuntimeUnavailable(
            f"device 'cuda' asked for, but {what} is not available here; use --device cpu or auto"
        )
    if device not in ("cpu", "cuda"):
        raise ModelError(f"unknown device {device!r}: choose auto, cpu or cuda")
    return device
