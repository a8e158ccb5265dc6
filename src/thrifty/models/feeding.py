"""How a torch module is fed a batch: one tensor, or tensors by input name (``input_ids=...``),
which is how a Hugging Face model and a converted multi-input graph take theirs."""

from __future__ import annotations

import numpy as np


def to_tensors(batch, device="cpu"):
    """A NumPy batch (an array, or arrays by input name) as torch tensors on ``device``."""
    import torch

    def tensor(array: np.ndarray):
        return torch.from_numpy(np.require(array, requirements=["C", "W"])).to(device)

    if isinstance(batch, dict):
        return {name: tensor(array) for name, array in batch.items()}
    return batch.to(device) if isinstance(batch, torch.Tensor) else tensor(batch)


def forward(module, tensors):
    """``module``'s output for one tensor, or for tensors passed by their input names."""
    return module(**tensors) if isinstance(tensors, dict) else module(tensors)
