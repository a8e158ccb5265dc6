"""The search knows techniques only by what they declare: a technique registered here, in the
test, is tried by ``th.optimize`` with no edit to ``thrifty/optimize/``, which names none."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from onnx import numpy_helper

import thrifty as th
import thrifty.optimize as optimize
import thrifty.optimize.search as search
from thrifty.compress import Recipe
from thrifty.compress.registry import TECHNIQUES, Strength, Technique
from thrifty.models.model import Model


@dataclass(frozen=True)
class Round:
    digits: int  # decimals each float weight keeps: fewer distinct values for the coder


def rounded(model: Model, config: Round, context) -> Model:
    proto = type(model.proto)()
    proto.CopyFrom(model.proto)
    for tensor in proto.graph.initializer:
        array = numpy_helper.to_array(tensor)
        if array.dtype == np.float32:
            tensor.CopyFrom(numpy_helper.from_array(array.round(config.digits), tensor.name))
    return Model(proto=proto, name=model.name, source=model.source, metadata=dict(model.metadata))


ROUND = Technique(
    "round", Round, rounded, stage="precision", on="graph", fine_tunes=False,
    strength=Strength("digits", low=0, high=6, stronger="lower", tries=(2,)),
)  # fmt: skip


@pytest.fixture
def only_rounding(monkeypatch, tmp_path):
    """The registry holds the toy technique and int8 quantization alone (a search of seconds)."""
    for name in [n for n in TECHNIQUES if n != "quantize"]:
        monkeypatch.delitem(TECHNIQUES, name)
    monkeypatch.setitem(TECHNIQUES, "round", ROUND)
    monkeypatch.setenv("THRIFTY_CACHE", str(tmp_path / "cache"))


def test_a_technique_registered_outside_thrifty_is_tried(only_rounding, digits):
    module = th.models.build("tabular-mlp", (64,), 10, steps=digits.training_steps)
    th.models.train(module, digits, th.models.TrainConfig(epochs=5))
    model = th.load(module, input_shape=(64,))
    assert Recipe.parse("round:2").steps == (Round(2),)
    found = th.optimize(model, digits, max_drop=2.0, time_budget=120)
    tried = {str(c.trial.recipe): c for c in found.candidates}
    assert "round:2" in tried and "quantize:int8-dynamic" in tried
    weights = th.unpack(tried["round:2"].path).proto.graph.initializer  # what was measured
    matrices = [numpy_helper.to_array(t) for t in weights if len(t.dims) == 2]
    assert matrices and all(np.array_equal(m, m.round(2)) for m in matrices)
    assert tried["round:2"].drop(found.baseline) < 2.0


def test_the_first_group_holds_it_among_what_needs_no_fine_tuning(only_rounding):
    first, suggested, gentler = search.groups({})
    assert [str(r) for r in first] == [
        "quantize:int8-static", "quantize:int8-dynamic", "quantize:fp16", "round:2"
    ]  # fmt: skip
    assert suggested == gentler == []


def test_the_optimizer_names_no_technique_and_parses_no_recipe_text():
    words = {w for t in TECHNIQUES.values() for w in (t.name, *t.strength.choices)}
    stems = {w.rstrip("e") for w in words}  # prune -> prun (pruned, pruning)
    mentions = re.compile("|".join(rf"\b{re.escape(s)}" for s in sorted(stems)), re.IGNORECASE)
    parsing = re.compile(r"""\.(r?partition|split|startswith)\(\s*["'][,:]|Recipe\.parse""")
    units = re.compile(r"bits[ _]per[ _]weight|few bits", re.IGNORECASE)  # the unit, not `bits`
    for path in sorted(Path(optimize.__file__).parent.glob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            named = mentions.search(units.sub("", line))
            assert not named, f"{path.name}:{number} names a technique: {line}"
            assert not parsing.search(line), f"{path.name}:{number} parses a recipe: {line}"
