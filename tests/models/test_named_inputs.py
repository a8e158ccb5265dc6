"""Samples of several named inputs of any dtype (token ids and masks, as transformers take
them) run through every command: load, split, train, export, profile, compress; targets may be
vectors."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

import thrifty as th
from thrifty.compress import FineTune
from thrifty.errors import DataMismatch
from thrifty.models.export import from_module

ROWS, LENGTH, WORDS = 600, 12, 100


class Bag(torch.nn.Module):
    """Mean of the embeddings of the tokens the mask keeps, then an MLP: a tiny text model."""

    def __init__(self, outputs: int = 3) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(WORDS, 16)
        self.fc1 = torch.nn.Linear(16, 32)
        self.fc2 = torch.nn.Linear(32, outputs)

    def forward(self, input_ids, attention_mask):
        mask = attention_mask.unsqueeze(-1).float()
        pooled = (self.embed(input_ids) * mask).sum(1) / mask.sum(1).clamp(min=1)
        return self.fc2(torch.relu(self.fc1(pooled)))


def tokens(seed: int = 0):
    """Token ids padded with 0 to ``LENGTH``, their mask, and a class each (3 of them)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, LENGTH + 1, size=ROWS)
    mask = (np.arange(LENGTH)[None] < lengths[:, None]).astype(np.int64)
    ids = rng.integers(1, WORDS, size=(ROWS, LENGTH)).astype(np.int64) * mask
    labels = np.minimum((ids % 3 == 0).sum(axis=1) * 3 // (lengths + 1), 2)
    return ids, mask, labels


@pytest.fixture(scope="module")
def named(tmp_path_factory):
    folder = tmp_path_factory.mktemp("named")
    ids, mask, labels = tokens()
    np.savez(folder / "rows.npz", input_ids=ids, attention_mask=mask, y=labels)
    data = th.datasets.load(folder / "rows.npz")
    torch.manual_seed(0)
    module = Bag()
    th.models.train(module, data, th.models.TrainConfig(epochs=8))
    model = from_module(module, data.train.x.feed(), name="bag")
    model.save(folder / "bag.onnx")
    return data, model, folder


def test_an_npz_of_named_arrays_is_split_as_one(named):
    data, _, folder = named
    assert data.input_shape is None and data.train.x.names == ("input_ids", "attention_mask")
    assert data.describe()["inputs"] == {"input_ids": "int64 [12]", "attention_mask": "int64 [12]"}
    again = th.datasets.load(folder / "rows.npz")
    assert np.array_equal(again.test.x.arrays["input_ids"], data.test.x.arrays["input_ids"])
    assert len(data.train) + len(data.val) + len(data.test) == ROWS
    ids, mask, _ = tokens()
    row = data.test.x.arrays["input_ids"][0]
    (where,) = np.flatnonzero((ids == row).all(axis=1))[:1]
    assert np.array_equal(mask[where], data.test.x.arrays["attention_mask"][0])  # rows together


def test_the_export_takes_int64_inputs_by_name_with_any_batch_and_length(named):
    data, model, folder = named
    assert model.input_names == ("input_ids", "attention_mask")
    assert set(model.input_dtypes.values()) == {np.dtype(np.int64)}
    session = ort.InferenceSession(str(folder / "bag.onnx"), providers=["CPUExecutionProvider"])
    arrays = data.test.x.arrays
    ids, mask = arrays["input_ids"][:5, :7], arrays["attention_mask"][:5, :7]  # 7 long, not 12
    out = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
    with torch.inference_mode():
        expected = model.module(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    assert out.shape == (5, 3) and np.allclose(out, expected, atol=1e-5)


def test_profile_binds_inputs_by_name_in_either_runtime(named):
    data, model, folder = named
    ort_cost = th.profile(folder / "bag.onnx", data, timing_budget_s=0.02)
    torch_cost = th.profile(model, data, runtime="torch", timing_budget_s=0.02)
    assert ort_cost.quality.value == pytest.approx(torch_cost.quality.value, abs=1 / len(data.test))
    assert ort_cost.quality.value > 0.45  # learnt something: a third is chance
    assert ort_cost.bandwidth.request_bytes == 2 * LENGTH * 8  # two int64 rows of 12


@pytest.mark.parametrize(
    "recipe",
    ["prune:0.5", "share:4", "channels:0.5", "quantize:int8-dynamic", "quantize:int8-static"],
)
def test_each_technique_compresses_a_model_of_named_inputs(named, recipe):
    data, model, _ = named
    smaller = th.compress(model, recipe, data, finetune=FineTune(epochs=2))
    assert smaller.input_names == model.input_names and smaller.output_name == model.output_name
    session = ort.InferenceSession(smaller.to_bytes(), providers=["CPUExecutionProvider"])
    out = session.run(None, data.test.x.take(slice(0, 4)).feed())[0]
    assert out.shape == (4, 3)
    assert th.profile(smaller, data, timing_budget_s=0.02).quality.value > 0.4


def test_vectors_as_targets_are_values_a_row(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 8)).astype(np.float32)
    np.savez(tmp_path / "vectors.npz", x=x, y=x[:, :4] * 2)  # an embedding of 4 a row
    data = th.datasets.load(tmp_path / "vectors.npz")
    assert data.task == "regression" and data.train.y.shape[1] == 4
    module = th.models.build("tabular-mlp", (8,), 4, steps=data.training_steps)
    th.models.train(module, data, th.models.TrainConfig(epochs=20))
    cost = th.profile(module, data, timing_budget_s=0.02)
    assert cost.quality.metric == "rmse" and cost.quality.value < 1.0  # the targets' std is 2


def test_inputs_that_do_not_match_the_graph_get_one_line(named, tmp_path):
    data, model, _ = named
    with pytest.raises(DataMismatch, match=r"takes inputs \['input_ids', 'attention_mask'\]"):
        model.fit_inputs(np.zeros((2, LENGTH), dtype=np.int64))
    ids, _, labels = tokens()
    np.savez(tmp_path / "ids.npz", input_ids=ids, y=labels)
    with pytest.raises(DataMismatch, match="no 'attention_mask'; name the data's arrays"):
        th.profile(model, th.datasets.load(tmp_path / "ids.npz"), timing_budget_s=0.02)


def test_predict_reads_an_npz_of_named_inputs(named, tmp_path):
    data, model, folder = named
    arrays = data.test.x.arrays
    np.savez(tmp_path / "new.npz", **arrays)
    done = th.predict(folder / "bag.onnx", tmp_path / "new.npz", tmp_path / "out.parquet",
                      workers=2, threads=1)  # fmt: skip
    import pyarrow.parquet as pq

    table = pq.read_table(done.output).sort_by("row")
    session = ort.InferenceSession(str(folder / "bag.onnx"), providers=["CPUExecutionProvider"])
    expected = session.run(None, dict(arrays))[0].argmax(axis=1)
    assert done.rows == len(data.test) and np.array_equal(table["class"].to_numpy(), expected)


def test_the_onnx_road_takes_named_inputs_too(named):
    """A graph given as a file, with no module: converted to PyTorch, fed by input name."""
    data, _, folder = named
    model = th.load(folder / "bag.onnx")
    smaller = th.compress(model, "prune:0.5", data, finetune=FineTune(epochs=1))
    assert smaller.input_names == model.input_names
    assert th.profile(smaller, data, timing_budget_s=0.02).quality.value > 0.4
