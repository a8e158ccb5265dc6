"""Prune and Share do what they say, on a small model and the digits data."""

import numpy as np
import pytest
from onnx import numpy_helper

import thrifty as th
from thrifty.compress import FineTune, Prune, Recipe, Scans, Share
from thrifty.errors import DataError

FAST = FineTune(epochs=3)


def matrices(model) -> dict[str, np.ndarray]:
    arrays = {t.name: numpy_helper.to_array(t) for t in model.proto.graph.initializer}
    return {name: a for name, a in arrays.items() if a.ndim >= 2}


def sparsity(array: np.ndarray) -> float:
    return float((array == 0).mean())


def test_given_layer_sparsities_are_exact(digits, digits_baseline):
    layers = (("fc1.weight", 0.9), ("fc2.weight", 0.75), ("fc3.weight", 0.5))
    result = th.compress(digits_baseline, [Prune(0.8, layers=layers)], digits, finetune=FAST)
    weights = matrices(result)
    for name, target in layers:
        assert sparsity(weights[name]) == round(target * weights[name].size) / weights[name].size


def test_sensitivity_reaches_the_overall_sparsity(digits, digits_baseline, accuracy):
    result = th.compress(digits_baseline, [Prune(0.85)], digits, finetune=FAST)
    weights = matrices(result).values()
    zeros = sum(int((w == 0).sum()) for w in weights)
    assert zeros / sum(w.size for w in weights) == pytest.approx(0.85, abs=0.002)
    assert len({round(sparsity(w), 2) for w in weights}) > 1  # layers differ by sensitivity
    assert accuracy(result, digits) >= accuracy(digits_baseline, digits) - 0.03


def test_the_sensitivity_scan_is_remembered_for_the_same_weights(digits, digits_baseline):
    import copy

    import torch

    module = copy.deepcopy(digits_baseline.module)
    scans = Scans()
    first = scans.of(module, digits)
    assert scans.of(copy.deepcopy(module), digits) is first  # the same weights: not rescanned
    assert Scans().of(module, digits) is not first  # no scan is kept for the process
    with torch.no_grad():
        next(module.parameters()).mul_(0.5)
    assert scans.of(module, digits) is not first


def test_masks_hold_through_fine_tuning(digits, digits_baseline):
    """Weights pruned at the first step stay zero to the end, though training went on."""
    first = th.compress(
        digits_baseline, [Prune(0.6, schedule="oneshot")], digits, finetune=FineTune(epochs=0)
    )
    tuned = th.compress(
        digits_baseline, [Prune(0.6, schedule="oneshot")], digits, finetune=FineTune(epochs=5)
    )
    for name, before in matrices(first).items():
        after = matrices(tuned)[name]
        assert np.all(after[before == 0] == 0)
        assert not np.array_equal(after, before)  # fine-tuning did change the kept weights


@pytest.mark.parametrize("bits", [2, 4])
def test_share_leaves_few_values_and_keeps_zeros(digits, digits_baseline, accuracy, bits):
    result = th.compress(digits_baseline, [Prune(0.7), Share(bits)], digits, finetune=FAST)
    pruned = th.compress(digits_baseline, [Prune(0.7)], digits, finetune=FAST)
    for name, array in matrices(result).items():
        assert len(np.unique(array[array != 0])) <= 2**bits
        assert sparsity(array) >= sparsity(matrices(pruned)[name]) - 1e-9
    assert accuracy(result, digits) >= accuracy(digits_baseline, digits) - (
        0.05 if bits == 4 else 0.2
    )


def test_distillation_without_labels_recovers(digits, digits_baseline, accuracy):
    """Pruning 95% hurts; fine-tuning on the original's outputs alone wins most of it back."""
    hurt = th.compress(
        digits_baseline, [Prune(0.95, schedule="oneshot")], digits, finetune=FineTune(epochs=0)
    )
    distilled = th.compress(
        digits_baseline,
        [Prune(0.95, schedule="oneshot")],
        digits,
        finetune=FineTune(epochs=20, patience=5, labels=False),
    )
    base, lost, back = (accuracy(m, digits) for m in (digits_baseline, hurt, distilled))
    assert lost < base - 0.05
    assert back > lost + 0.05


def test_compress_an_onnx_file_keeps_its_graph(tmp_path, digits, digits_baseline):
    digits_baseline.save(tmp_path / "m.onnx")
    loaded = th.load(tmp_path / "m.onnx")
    result = th.compress(loaded, "prune:0.5,share:3", digits, finetune=FAST)
    assert [n.op_type for n in result.proto.graph.node] == [
        n.op_type for n in loaded.proto.graph.node
    ]
    assert result.metadata["recipe"] == "prune:0.5,share:3"
    weights = matrices(result).values()
    assert sum(int((w == 0).sum()) for w in weights) / sum(w.size for w in weights) >= 0.499


def test_the_original_is_untouched(digits, digits_baseline):
    before = {k: v.copy() for k, v in matrices(digits_baseline).items()}
    th.compress(digits_baseline, [Prune(0.9)], digits, finetune=FAST)
    assert all(np.array_equal(before[k], v) for k, v in matrices(digits_baseline).items())


def test_recipes_as_text():
    recipe = Recipe.parse("prune:0.92, share:5")
    assert recipe.steps == (Prune(0.92), Share(5))
    assert str(recipe) == "prune:0.92,share:5" and Recipe.parse("") == Recipe()
    for bad in ("prune", "prune:x", "crop:0.5", "share:12", "prune:1.5"):
        with pytest.raises(DataError):
            Recipe.parse(bad)


@pytest.mark.parametrize(
    ("text", "why"),
    [("share:4,prune:0.5", "prune cannot follow share"),
     ("prune:0.5,prune:0.9", "prune cannot follow prune"),
     ("quantize:fp16,share:4", "share cannot follow quantize")],
)  # fmt: skip
def test_steps_go_by_stage(text, why):
    with pytest.raises(DataError, match=why):
        Recipe.parse(text)
