"""The registry: each technique's config type maps to its handler (torchao's ``quantize_`` shape).

A handler runs at one of two stages: ``torch`` (on a trainable module: prune, share, channels)
or ``onnx`` (on the exported graph: quantize). A new technique is a new file that registers
itself here; ``compress`` does not change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Stage = Literal["torch", "onnx"]


@dataclass(frozen=True)
class Handler:
    run: Callable[..., Any]  # (module or Model, config, Context) -> module or Model
    stage: Stage


REGISTRY: dict[type, Handler] = {}
NAMES: dict[str, type] = {}  # recipe word -> config type, e.g. "prune" -> Prune


def register(name: str, stage: Stage):
    """Class decorator for a config: ``@register("prune", "torch")`` above ``class Prune``."""

    def bind(config: type) -> type:
        NAMES[name] = config
        return config

    return bind


def handles(config: type, stage: Stage):
    """Function decorator: the handler of ``config`` instances."""

    def bind(function: Callable) -> Callable:
        REGISTRY[config] = Handler(function, stage)
        return function

    return bind


@dataclass
class Context:
    """What every handler may use: the data, the original model, recovery settings, and the
    sensitivity scans already made."""

    data: Any  # thrifty.datasets.Dataset
    teacher: Any  # the original module, frozen: the target of distillation
    finetune: Any  # thrifty.compress.FineTune
    say: Callable[[str], None]  # progress messages
    scans: Any  # thrifty.compress.prune.Scans: the caller's, so a model is scanned once
    deadline: float | None = None  # time.monotonic() instant where fine-tuning stops (the best
    # weights so far kept): the optimizer's time budget
    progress: bool = False  # show each fine-tuning run's epochs (thrifty.progress)
