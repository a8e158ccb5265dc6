"""Every cell of README's conformance table (``table.py``): each command on each row's model,
what it wrote checked in plain ONNX Runtime, fed the rows as the user gives them."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

import thrifty as th
from conformance.subjects import ROWS, Subject
from conformance.table import COLUMNS, REFUSED, SLOW, cells, markdown
from thrifty.compress import FineTune
from thrifty.datasets.metrics import score
from thrifty.datasets.samples import Named, batches, feed, is_named
from thrifty.errors import ThriftyError
from thrifty.measure.quality import referenced

README = Path(__file__).resolve().parents[2] / "README.md"
TUNING = FineTune(epochs=1, max_seconds=10)  # a cell checks that it works, not how well
SLACK = 2.0  # points: the noise of a few hundred unseen rows, beside the optimizer's budget
# as thrifty scores: int8-dynamic's outputs depend on the rows run together (each call's
# activations set their own int8 ranges), so the same rows are called together here
ROWS_A_CALL = 1024


@pytest.fixture(scope="session")
def subject(request, tmp_path_factory):
    """subject(row): the row's model and data, built once a session."""
    built: dict[str, Subject] = {}

    def get(row: str) -> Subject:
        if row not in built:
            built[row] = ROWS[row].build(tmp_path_factory.mktemp(row), request)
        return built[row]

    return get


def plain(model: Path | bytes, x) -> np.ndarray:
    """What plain ONNX Runtime gives for samples ``x``, fed by input name, ``ROWS_A_CALL`` rows
    a call; a flat input takes images flattened, as its user would feed them."""
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    first = session.get_inputs()[0]
    outputs = []
    for part in batches(x, ROWS_A_CALL):
        if is_named(part):
            given = feed(part)
            call = {i.name: given[i.name] for i in session.get_inputs()}
        else:
            shape = [d if isinstance(d, int) else -1 for d in first.shape]
            call = {first.name: part.reshape(shape) if shape.count(-1) == 1 else part}
        outputs.append(session.run(None, call)[0])
    return np.concatenate(outputs)


@functools.cache
def loaded(path: Path) -> th.Model:
    """A row's model, loaded once (a transformer's folder takes seconds to export); the cells
    do not change it (compress works on a copy)."""
    return th.load(path)


@functools.cache
def exported(path: Path) -> bytes:
    """The ONNX graph a model file or folder is run as: an .onnx file as it is."""
    return path.read_bytes() if path.suffix == ".onnx" else loaded(path).to_bytes()


def quality(model: Path | bytes, original: bytes, split, data) -> float:
    """``model``'s quality on ``split`` scored from plain ONNX Runtime's outputs; an embedding
    against the original's vectors on the same rows."""
    y = plain(original, split.x) if data.task == "embedding" else split.y
    return score(data.metric, plain(model, split.x), y, data.classes)


def load_data(subject: Subject, path: Path | None = None):
    model = loaded(subject.model)
    return th.datasets.load(path or subject.data, model=model, **subject.load), model


def everything(data):
    """All of a data set's rows, as one split (rows held back: thrifty never saw them)."""
    from thrifty.datasets.base import Split
    from thrifty.datasets.samples import take

    parts = (data.train, data.val, data.test)
    if is_named(data.train.x):
        return parts  # scored part by part (their token batches pad differently)
    x = np.concatenate([take(p.x, slice(None)) for p in parts])
    y = np.concatenate([p.y for p in parts])
    return (Split(x, y),)


def matrices(path: Path, larger_than: int = 0) -> list[np.ndarray]:
    """The float32 weight matrices and kernels of an ONNX file, of over ``larger_than``
    elements."""
    return [
        numpy_helper.to_array(t)
        for t in onnx.load(path).graph.initializer
        if t.data_type == onnx.TensorProto.FLOAT
        and len(t.dims) >= 2
        and np.prod(t.dims) > larger_than
    ]


# ---- the columns


def profile(subject: Subject, folder: Path) -> None:
    data, model = load_data(subject)
    cost = th.profile(model, data, timing_budget_s=0.05)
    original = exported(subject.model)
    assert cost.quality.value == pytest.approx(
        quality(original, original, data.test, data), abs=1e-6
    )
    if data.task == "embedding":
        assert cost.quality.value == pytest.approx(1.0)
    assert cost.compute.macs_per_sample > 0 and cost.storage.params > 0


def compress(recipe: str):
    def run(subject: Subject, folder: Path) -> None:
        data, model = load_data(subject)
        result = th.compress(model, recipe, data, finetune=TUNING)
        path = folder / "compressed.onnx"
        result.save(path)
        cost = th.profile(path, referenced(data, model), timing_budget_s=0.05)  # as compress
        original = exported(subject.model)
        ships = quality(path.read_bytes(), original, data.test, data)
        assert cost.quality.value == pytest.approx(ships, abs=1e-6)  # measured: what was written
        EFFECTS[recipe.split(":")[0] if "quantize" not in recipe else recipe](path, original)

    return run


def pruned(path: Path, original: bytes) -> None:
    weights = np.concatenate([w.reshape(-1) for w in matrices(path)])
    assert np.mean(weights == 0) >= 0.45  # the share prune:0.5 sets of all of them


def narrower(path: Path, original: bytes) -> None:
    count = lambda proto: sum(int(np.prod(t.dims)) for t in proto.graph.initializer)  # noqa: E731
    # half the channels: a quarter to a half of the weights left; a transformer's embedding
    # tables and residual width stay whole (MiniLM keeps 76%: half its heads and neurons go)
    assert count(onnx.load(path)) < 0.8 * count(onnx.load_from_string(original))


def shared(path: Path, original: bytes) -> None:
    # 4 bits: 16 values at most, in the layers' matrices and kernels (a transformer's embedding
    # tables, 3 of MiniLM's 39 matrices, are looked up, not multiplied: share leaves them)
    few = [len(np.unique(w)) <= 16 for w in matrices(path, larger_than=256)]
    assert np.mean(few) >= 0.75, few


def typed(kind: int):
    def check(path: Path, original: bytes) -> None:
        kinds = {t.data_type for t in onnx.load(path).graph.initializer}
        assert kind in kinds, kinds

    return check


EFFECTS = {
    "prune": pruned,
    "channels": narrower,
    "share": shared,
    "quantize:int8-dynamic": typed(onnx.TensorProto.INT8),
    "quantize:int8-static": typed(onnx.TensorProto.INT8),
    "quantize:fp16": typed(onnx.TensorProto.FLOAT16),
}


def pack(subject: Subject, folder: Path) -> None:
    original = onnx.load_from_string(exported(subject.model))
    th.pack(subject.model, folder / "m.thrifty")
    th.unpack(folder / "m.thrifty").save(folder / "back.onnx")
    back = {
        t.name: numpy_helper.to_array(t) for t in onnx.load(folder / "back.onnx").graph.initializer
    }
    assert back.keys() == {t.name for t in original.graph.initializer}
    for tensor in original.graph.initializer:
        weights = numpy_helper.to_array(tensor)
        assert back[tensor.name].dtype == weights.dtype
        assert back[tensor.name].tobytes() == weights.tobytes(), tensor.name  # bit-identical


def optimize(subject: Subject, folder: Path) -> None:
    """The returned model.onnx, in plain ONNX Runtime on rows thrifty never saw, keeps within
    the budget of the original's quality there."""
    data, _ = load_data(subject)
    th.optimize(subject.model, data, max_drop=subject.max_drop,
                time_budget=subject.time_budget, out=folder / "out")  # fmt: skip
    returned = (folder / "out" / "model.onnx").read_bytes()
    original = exported(subject.model)
    unseen, _ = load_data(subject, subject.unseen)
    for part in everything(unseen):
        before, after = (quality(m, original, part, unseen) for m in (original, returned))
        drop = unseen.metric.drop(before, after)
        assert drop <= subject.max_drop + SLACK, (before, after)


def predict(subject: Subject, folder: Path) -> None:
    import pyarrow.parquet as pq

    done = th.predict(subject.model, subject.inputs, folder / "p.parquet", workers=1, threads=1)
    table = pq.read_table(done.output).sort_by("row")
    expected = plain(exported(subject.model), rows(subject.inputs, loaded(subject.model)))
    if "vector" in table.column_names:
        got = np.stack(table["vector"].to_numpy(zero_copy_only=False))
        np.testing.assert_allclose(got, expected, atol=1e-4)
    else:
        labels = expected if expected.ndim == 1 else expected.argmax(axis=1)  # skl2onnx: labels
        assert np.array_equal(table["class"].to_numpy(), labels)


def rows(path: Path, model: th.Model):
    """The rows of a file ``predict`` takes, as a user feeds them to ONNX Runtime: texts
    through the model's tokenizer."""
    if path.suffix == ".txt":
        return model.text_encoding(path.read_text(encoding="utf-8").splitlines())
    if path.suffix == ".npz":
        return Named(dict(np.load(path)))
    return np.load(path)


def push_pull(subject: Subject, folder: Path) -> None:
    th.pack(loaded(subject.model), folder / "m.thrifty")
    th.push(folder / "m.thrifty", folder / "store", "m@1")
    th.pull(folder / "store", "m@1", folder / "pulled.thrifty", cache=folder / "cache")
    assert (folder / "pulled.thrifty").read_bytes() == (folder / "m.thrifty").read_bytes()
    x = rows(subject.inputs, loaded(subject.model))
    pulled = th.load(folder / "pulled.thrifty").to_bytes()
    np.testing.assert_allclose(plain(pulled, x), plain(exported(subject.model), x), atol=1e-5)


RUN = {
    "profile": profile,
    **{c: compress(r) for c, r in COLUMNS.items() if ":" in r},
    "pack": pack,
    "optimize": optimize,
    "predict": predict,
    "push-pull": push_pull,
}


@pytest.mark.parametrize(
    ("row", "column"),
    [
        pytest.param(
            row,
            column,
            id=f"{row}-{column}",
            marks=[pytest.mark.slow] if (row, column) in SLOW else [],
        )  # fmt: skip
        for row, column in cells()
    ],
)
def test_cell(subject, tmp_path, row, column):
    work = tmp_path / "work"
    work.mkdir()
    if (row, column) not in REFUSED:
        RUN[column](subject(row), work)
        return
    with pytest.raises(ThriftyError) as refusal:
        RUN[column](subject(row), work)
    assert REFUSED[row, column] in str(refusal.value) and "\n" not in str(refusal.value)
    assert not any(work.iterdir())  # nothing written


def test_readme_shows_the_table():
    assert markdown() in README.read_text(encoding="utf-8"), "paste table.markdown() into README"
