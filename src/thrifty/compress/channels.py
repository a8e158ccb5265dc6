"""``Channels``: structured pruning: whole neurons and convolution channels are removed, so the
layers really shrink (fewer multiply-adds and bytes in any runtime, not zeros a sparse kernel must
skip).

Li et al. 2017 ("Pruning Filters for Efficient ConvNets") rank a layer's channels by the norm of
their weights and drop the weakest. What a removal implies downstream (the next layer's inputs,
the slice of a flattened feature map, a BatchNorm) is found by Torch-Pruning's dependency graph
(Fang et al. 2023, "DepGraph"), so the smaller network stays consistent; coupled channels are
ranked together by their group L2 norm. Every layer keeps floor(n x (1 - ratio)) of its n
channels, except the output layer, which keeps one output per class. Torch-Pruning never empties
a layer: one that would keep none keeps all. Recovery fine-tuning follows.

A transformer (a Hugging Face encoder) loses the share ``ratio`` of the attention heads and of
the feed-forward neurons of every block, whole heads only, and keeps its residual width, its
embeddings and its output (thrifty.compress.heads), so it takes and gives what it did. Its
heads and neurons are ranked by what they add to the output on real texts
(thrifty.compress.contribution), and its recovery distils the original's outputs and hidden
states (thrifty.models.distillation).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from thrifty.compress.contribution import contribution
from thrifty.compress.finetune import recover
from thrifty.compress.heads import attention_blocks, kept_whole, pruner_options
from thrifty.compress.registry import Strength, Technique, register
from thrifty.datasets.samples import feed, take
from thrifty.errors import DataError, NotApplicable
from thrifty.models.feeding import forward, to_tensors

EXAMPLE_ROWS = 8  # the dependency graph is traced from one forward pass; only shapes matter


@dataclass(frozen=True)
class Channels:
    ratio: float  # the share of channels (neurons) removed from each layer but the output layer;
    # of a transformer, the share of every block's attention heads and feed-forward neurons

    def __post_init__(self) -> None:
        if not 0 <= self.ratio < 1:
            raise DataError(f"channels ratio must be in [0, 1), got {self.ratio}")


def channels(module, config: Channels, context):
    import torch_pruning as tp

    layers = _prunable(module)
    if not layers:
        raise NotApplicable(
            "channels pruning needs Linear or Conv layers (Gemm, MatMul or Conv nodes in an ONNX "
            f"graph); {type(module).__name__} has none: use prune instead"
        )
    example = to_tensors(feed(take(context.data.train.x, slice(0, EXAMPLE_ROWS))))
    blocks = attention_blocks(module)
    heads, weights = sum(block.heads for block in blocks), _count(module)
    try:
        pruner = tp.pruner.BasePruner(
            module,
            example,
            importance=_importance(module, blocks, context.data.train.x),
            pruning_ratio=config.ratio,
            ignored_layers=[_output_layer(module, layers, example), *kept_whole(module, blocks)],
            in_channel_groups={},  # fresh: Torch-Pruning writes into its shared defaults,
            out_channel_groups={},  # which would keep every pruned model's layers alive
            **pruner_options(blocks, config.ratio),
        )
        pruner.step()
        for block in blocks:
            block.settle()
        with torch.no_grad():
            forward(module.eval(), example)  # the narrower network must still run
    except (IndexError, RuntimeError, ValueError, KeyError) as error:
        # the dependency graph cannot follow every structure (a reshape it cannot trace
        # through, a layer shared in an odd way): say so instead of a traceback
        first = (str(error).strip().splitlines() or [""])[0][:160]
        raise NotApplicable(
            f"channels pruning cannot shrink {type(module).__name__} consistently "
            f"({type(error).__name__}: {first}); use prune instead"
        ) from error
    if blocks:
        removed = heads - sum(block.heads for block in blocks)
        context.say(f"channels: {removed} of {heads} attention heads removed, {_count(module):,} "
                    f"of {weights:,} weights left; fine-tuning")  # fmt: skip
    else:
        context.say(f"channels: {config.ratio:.0%} of each layer's channels removed; fine-tuning")
    recover(module, context)
    return module


def _importance(module, blocks: list, samples):
    """How channels are ranked: a transformer's by what they add on real texts
    (thrifty.compress.contribution), other networks' by their group L2 norm (what the zoo's
    results in README were measured with)."""
    import torch_pruning as tp

    if blocks:
        return contribution(module, samples)
    return tp.importance.GroupMagnitudeImportance(p=2)


def _count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def _prunable(module) -> list:
    """The layers whose channels Torch-Pruning removes: Linear and convolutions."""
    from torch_pruning import ops

    return [m for m in module.modules() if isinstance(m, ops.TORCH_LINEAR | ops.TORCH_CONV)]


def _output_layer(module, layers: list, example):
    """The prunable layer that runs last: its outputs are the model's (one per class)."""
    ran = []
    hooks = [layer.register_forward_hook(lambda m, i, o: ran.append(m)) for layer in layers]
    try:
        with torch.no_grad():
            forward(module.eval(), example)
    finally:
        for hook in hooks:
            hook.remove()
    return ran[-1]


register(
    Technique(
        "channels", Channels, channels, stage="structure", on="module", fine_tunes=True,
        strength=Strength("ratio", low=0.0, high=0.9, tries=(0.5,), gentler=(0.25,)),
        follows=("prune",), arithmetic=lambda step: True,  # fewer multiply-adds anywhere
    )
)  # fmt: skip
