"""The weights techniques act on: every parameter with two or more dimensions (matrices, kernels).

Biases and normalisation parameters are few and sensitive; they are left alone, as in Deep
Compression.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Weight:
    owner: object  # the module that holds the parameter
    attribute: str  # its name there
    name: str  # its qualified name, as a person reads it

    @property
    def tensor(self):
        return getattr(self.owner, self.attribute)


def weights(module) -> list[Weight]:
    """Every weight matrix or kernel of ``module``, in registration order, masked or shared
    ones included (a parametrized weight lives under ``owner.parametrizations``)."""
    from torch.nn.utils import parametrize

    found = []
    for prefix, owner in module.named_modules():
        if "parametrizations" in prefix.split("."):
            continue
        attributes = [name for name, _ in owner.named_parameters(recurse=False)]
        if parametrize.is_parametrized(owner):
            attributes += list(owner.parametrizations)
        for attribute in attributes:
            if getattr(owner, attribute).dim() >= 2:
                found.append(Weight(owner, attribute, f"{prefix}.{attribute}".lstrip(".")))
    return found


def bake(module) -> None:
    """Make every parametrization (mask, shared values) the plain value of its parameter."""
    from torch.nn.utils import parametrize

    for _, owner in list(module.named_modules()):
        if parametrize.is_parametrized(owner):
            for attribute in list(owner.parametrizations):
                parametrize.remove_parametrizations(owner, attribute, leave_parametrized=True)


def magnitude_mask(values, sparsity: float, order=None):
    """A 0/1 mask keeping all but exactly round(sparsity x n) of the smallest magnitudes
    (``order``: ``smallest_first(values)``, if already known)."""
    import torch

    cut = int(round(sparsity * values.numel()))
    mask = torch.ones(values.numel(), dtype=values.dtype, device=values.device)
    if cut:
        order = smallest_first(values) if order is None else order
        mask[order[:cut]] = 0
    return mask.reshape(values.shape)


def smallest_first(values):
    import torch

    return torch.argsort(values.abs().reshape(-1), stable=True)
