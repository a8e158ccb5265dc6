"""What a transformer learns from its original when it recovers: the original's outputs, and
its hidden states, block by block.

A pruned encoder that only chases the pooled vector (or the logits) can reach it by paths the
original never took; matching every block's output too (TinyBERT, Jiao et al. 2020, section
3.1) keeps each block doing its old job, which is what lets a few hundred unlabelled texts
recover it. Pruning heads and feed-forward neurons keeps the residual width, so the student's
hidden states align with the teacher's one to one, with no projection to learn.

The output term is the task's: 1 - cosine for an embedding (what spearman on its directions
scores), softened logits for a classifier (Hinton et al. 2015), squared error for values. Each
hidden-state term is the squared error over real tokens relative to the teacher's own energy
(so every block weighs the same whatever its scale), averaged over blocks and added with
weight 1. With ``labels`` the task's own loss on the labels is added as well (an embedding's
targets are the teacher's vectors already).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from thrifty.models.feeding import forward
from thrifty.models.huggingface import TextModel


def is_transformer(module) -> bool:
    """A Hugging Face model as thrifty runs it, whose hidden states a student can match."""
    return isinstance(module, TextModel)


def distillation_loss(task: str, teacher, temperature: float, labels: bool):
    """loss(module, inputs, labels) for a student of ``teacher``: its outputs, a transformer's
    hidden states too, and with ``labels`` the task's own loss on them."""
    transformer = is_transformer(teacher)
    labelled = labels and task != "embedding"  # an embedding's targets: the teacher's vectors

    def loss(module, xb, yb):
        if transformer:
            out, hidden = module.hidden_states(**xb)
            with torch.no_grad():
                target, target_hidden = teacher.hidden_states(**xb)
            total = output_loss(task, out, target, temperature) + _hidden_loss(
                hidden, target_hidden, xb["attention_mask"]
            )
        else:
            out = forward(module, xb)
            with torch.no_grad():
                target = forward(teacher, xb)
            total = output_loss(task, out, target, temperature)
        return total + label_loss(task, out, yb) if labelled else total

    return loss


def output_loss(task: str, out, target, temperature: float):
    """How far ``out`` is from the teacher's ``target``, in the task's terms."""
    if task == "embedding":
        return 1 - F.cosine_similarity(out, target).mean()
    if task != "classification":
        return F.mse_loss(out, target)
    soft = F.log_softmax(target / temperature, dim=1)
    log_p = F.log_softmax(out / temperature, dim=1)
    return F.kl_div(log_p, soft, log_target=True, reduction="batchmean") * temperature**2


def label_loss(task: str, out, yb):
    """The task's own loss on its targets (an embedding's: the original's vectors)."""
    if task == "classification":
        return F.cross_entropy(out, yb)
    if task == "embedding":
        return 1 - F.cosine_similarity(out, yb).mean()
    return F.mse_loss(out.reshape(yb.shape), yb)


def _hidden_loss(hidden, target, attention_mask):
    """Each block's squared error over the real tokens, relative to the target's squared norm
    there, averaged over the blocks."""
    mask = attention_mask.unsqueeze(-1).to(hidden[0].dtype)
    errors = [
        ((h - t) ** 2 * mask).sum() / (t**2 * mask).sum().clamp(min=1e-12)
        for h, t in zip(hidden, target, strict=True)
    ]
    return torch.stack(errors).mean()
