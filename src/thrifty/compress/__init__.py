"""Making a model cheaper: prune, channels, share, quantize, bits (and more techniques through
the registry).

``th.compress(model, recipe, data)`` applies the techniques of ``recipe`` in order, each followed
by recovery fine-tuning, and returns a new :class:`thrifty.Model`; the original is untouched.

>>> import thrifty as th
>>> from thrifty.compress import FineTune, Prune
>>> data = th.datasets.load("digits")
>>> model = th.load(th.models.build("tabular-mlp", (64,), 10), input_shape=(64,))
>>> smaller = th.compress(model, [Prune(0.5)], data, finetune=FineTune(epochs=1))
>>> smaller.metadata["recipe"]
'prune:0.5'
"""

from __future__ import annotations

import copy
from typing import Any

from thrifty.compress.bits import Bits
from thrifty.compress.channels import Channels
from thrifty.compress.finetune import FineTune
from thrifty.compress.prune import Prune
from thrifty.compress.quantize import Quantize
from thrifty.compress.recipe import Recipe
from thrifty.compress.registry import Context
from thrifty.compress.sensitivity import Scans
from thrifty.compress.share import Share
from thrifty.datasets.samples import feed, take
from thrifty.errors import DataError
from thrifty.verbs import make_callable

__all__ = [
    "Bits",
    "Channels",
    "FineTune",
    "Prune",
    "Quantize",
    "Recipe",
    "Scans",
    "Share",
    "compress",
]


def compress(
    model: Any,
    recipe: Recipe | list | str,
    data: Any,
    *,
    finetune: FineTune | None = None,
    progress: bool = False,
    deadline: float | None = None,
    scans: Scans | None = None,
):
    """Apply ``recipe`` (a Recipe, its steps, or text like ``"prune:0.92,share:5"``) to
    ``model``.

    ``data`` gives the training split for recovery and the validation split for early stopping
    and sensitivity; with ``FineTune(labels=False)`` its labels are not used (distillation).
    ``deadline`` (a ``time.monotonic()`` instant) stops every fine-tuning run there, keeping
    its best weights so far: the result is a real model, tuned for less. ``scans`` are the
    sensitivity scans made so far, which pruning the same weights again reuses (the optimizer
    holds one for its whole search); by default this call's own.
    """
    from thrifty.datasets import Dataset
    from thrifty.datasets import load as load_data
    from thrifty.loading import load
    from thrifty.measure.quality import referenced
    from thrifty.models.export import from_module
    from thrifty.models.onnx_torch import to_torch, with_weights

    recipe = _recipe(recipe)
    data = data if isinstance(data, Dataset) else load_data(data)
    model = load(model, input_shape=data.input_shape)
    data = referenced(data, model)  # an embedding's targets: the original's vectors
    converted = model.module is None
    module = to_torch(model) if converted else copy.deepcopy(model.module)
    teacher = copy.deepcopy(module).eval().requires_grad_(False)
    context = Context(
        data, teacher, finetune or FineTune(), _say(progress), scans or Scans(), deadline, progress
    )
    for step, technique in zip(recipe, recipe.techniques(), strict=True):
        if technique.on == "module":
            module = technique.run(module, step, context)
    if converted:
        result = with_weights(model, module)
    else:
        result = from_module(
            module,
            _example(model, data),
            name=model.name,
            source=model.source,
            output=model.output_name,
        )
    for step, technique in zip(recipe, recipe.techniques(), strict=True):
        if technique.on == "graph":
            result = technique.run(result, step, context)
    result.metadata.update(model.metadata, recipe=str(recipe))
    return result


def _recipe(recipe) -> Recipe:
    """``recipe`` as a Recipe whose steps on the torch module come before those on the graph."""
    if isinstance(recipe, str):
        recipe = Recipe.parse(recipe)
    recipe = recipe if isinstance(recipe, Recipe) else Recipe(tuple(recipe))
    on = [technique.on for technique in recipe.techniques()]
    if on != sorted(on, key=("module", "graph").index):
        last = [t.name for t in recipe.techniques() if t.on == "graph"]
        raise DataError(f"put {', '.join(last)} last in a recipe: it works on the exported graph")
    return recipe


def _example(model, data):
    """What the compressed module is exported for: the shape of one sample, or a batch of the
    data's named inputs."""
    if data.input_shape is None:
        return feed(take(data.train.x, slice(0, 2)))
    shape = model.input_shape
    return data.input_shape if None in shape else tuple(shape)


def _say(progress: bool):
    """Each step's message on stderr, with the time since compression began."""
    if not progress:
        return lambda text: None
    from thrifty.progress import Lines

    lines = Lines()
    return lambda text: lines.say(f"compress: {text} ({lines.seconds:.0f} s)", done=True)


make_callable(__name__, compress)  # th.compress(...) calls compress(); see thrifty/verbs.py
