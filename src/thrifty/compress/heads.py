"""Attention heads of Hugging Face encoders, which ``channels`` removes whole.

A BERT-style self-attention block projects the hidden states into query, key and value, each
``heads x head_size`` wide, and splits them with ``view(..., -1, head_size)``. Removing single
rows of those projections would leave the split running but mix the heads' dimensions (384
rows less 192 is still 6 x 32), so a transformer loses whole heads: Torch-Pruning is told each
projection's head count (``num_heads``), ranks the heads by the mean importance of their
dimensions (query, key and value rows and the output projection's columns are one group) and
removes the weakest ``ceil(ratio x heads)`` in every block. The block's own head counts
(``num_attention_heads``, ``all_head_size``) are then set to what its projections hold, as
Torch-Pruning's Hugging Face examples do, so that the module reads true.

The residual width (what every block adds into, the embeddings' width) stays whole: the
embeddings are left out of pruning, and the residual stream's group holds them, so none of its
layers shrinks. What remains is exactly the heads and the feed-forward (intermediate) neurons.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from thrifty.errors import NotApplicable

# The names of the query, key and value projections in the attention blocks Torch-Pruning can
# follow: BERT and its kin (MiniLM, RoBERTa, ELECTRA: BertSelfAttention), and DistilBERT.
PROJECTIONS = (("query", "key", "value"), ("q_lin", "k_lin", "v_lin"))
COUNTS = ("num_attention_heads", "n_heads")  # a block's head count, by family
HEAD_SIZES = ("attention_head_size", "head_dim")  # the width of one head, by family


@dataclass(frozen=True)
class Attention:
    """One self-attention block: its query, key and value projections and the width of a head."""

    block: nn.Module
    projections: tuple[nn.Linear, ...]
    head_size: int

    @property
    def heads(self) -> int:
        return self.projections[0].out_features // self.head_size

    def settle(self) -> None:
        """Set the block's head counts to what its projections hold after pruning."""
        for name in COUNTS:
            if hasattr(self.block, name):
                setattr(self.block, name, self.heads)
        if hasattr(self.block, "all_head_size"):
            self.block.all_head_size = self.heads * self.head_size


def attention_blocks(module: nn.Module) -> list[Attention]:
    """The self-attention blocks of ``module`` (none for a network without attention); a block
    that splits heads in a way this module does not know is refused rather than cut apart."""
    found = []
    for block in module.modules():
        size = next((getattr(block, n) for n in HEAD_SIZES if hasattr(block, n)), None)
        if not isinstance(size, int):
            continue
        for names in PROJECTIONS:
            layers = tuple(getattr(block, name, None) for name in names)
            if all(isinstance(layer, nn.Linear) for layer in layers):
                found.append(Attention(block, layers, size))
                break
        else:
            raise NotApplicable(
                f"channels pruning does not know how {type(block).__name__} splits its "
                "attention heads (it knows BERT-style and DistilBERT attention); use prune instead"
            )
    return found


def pruner_options(blocks: list[Attention], ratio: float) -> dict:
    """Torch-Pruning's settings that remove ``ratio`` of every block's heads, whole."""
    if not blocks:
        return {}
    return {
        "num_heads": {layer: block.heads for block in blocks for layer in block.projections},
        "prune_num_heads": True,
        "prune_head_dims": False,
        "head_pruning_ratio": ratio,
    }


def kept_whole(module: nn.Module, blocks: list[Attention]) -> list[nn.Module]:
    """The layers a transformer keeps whole: its embeddings, and so its residual width."""
    return [m for m in module.modules() if isinstance(m, nn.Embedding)] if blocks else []
