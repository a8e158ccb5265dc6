"""The machine a measurement ran on: CPU model, the vector instructions that decide int8 and
fp32 speed, and cores. Every benchmark prints it beside its figures, and reports carry it:
which runtime or precision wins depends on these (int8 gains far more with AVX-512 VNNI or
AMX than with AVX2 alone), so a figure without its machine cannot be compared."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from functools import cache
from pathlib import Path

# The flags (as /proc/cpuinfo names them) that change which kernels ONNX Runtime, OpenVINO and
# PyTorch pick: fp32 width, int8 dot products, bf16/fp16 arithmetic, matrix tiles; ARM's too.
VECTOR_FLAGS = (
    "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16",
    "avx512_fp16", "amx_tile", "amx_int8", "amx_bf16", "asimd", "asimddp", "sve", "sve2",
)  # fmt: skip


@dataclass(frozen=True)
class Machine:
    cpu: str  # the model name, e.g. "AMD EPYC 7B13" or "Intel(R) Xeon(R) Platinum 8481C"
    vector: tuple[str, ...]  # of VECTOR_FLAGS, those this CPU has
    cores: int  # that this process may use

    def __str__(self) -> str:
        flags = " ".join(self.vector) or "no AVX2/AVX-512/NEON flags found"
        return f"{self.cpu}, {self.cores} cores ({flags})"

    def to_dict(self) -> dict:
        return {"cpu": self.cpu, "vector": list(self.vector), "cores": self.cores}


@cache
def this_machine() -> Machine:
    """This machine, read once from /proc/cpuinfo (elsewhere: what ``platform`` says)."""
    model, flags = _cpuinfo()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    vector = tuple(flag for flag in VECTOR_FLAGS if flag in flags)
    return Machine(model or platform.processor() or platform.machine(), vector, cores or 1)


def _cpuinfo() -> tuple[str, set[str]]:
    """The first processor's model name and flags ("Features" on ARM)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "", set()
    model, flags = "", set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not model:
            model = value.strip()
        elif key in ("flags", "Features") and not flags:
            flags = set(value.split())
    return model, flags
