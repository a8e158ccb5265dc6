"""th.predict on the local backend: every input kind, every output kind, each row once, and
what survives a killed worker, a killed driver and a row that always fails."""

from __future__ import annotations

import signal
import threading
import time

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from predicted import FEATURES, check, expected, kill_a_driver, read_parquet

import thrifty as th
import thrifty.predict.inputs as inputs

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def rows():
    return np.random.default_rng(0).standard_normal((5_000, FEATURES)).astype(np.float32)


@pytest.fixture
def small_shards(monkeypatch):
    monkeypatch.setattr(inputs, "SHARD_ROWS", 700)  # several shards, the last one short


def write_input(kind: str, rows: np.ndarray, folder):
    if kind == "array":
        return rows
    columns = {f"f{i}": rows[:, i] for i in range(FEATURES)}
    if kind == "npy":
        np.save(folder / "x.npy", rows)
        return folder / "x.npy"
    if kind == "npz":
        np.savez_compressed(folder / "x.npz", x=rows)
        return folder / "x.npz"
    if kind == "csv":
        pacsv.write_csv(pa.table(columns), folder / "x.csv")
        return folder / "x.csv"
    if kind == "parquet":
        pq.write_table(pa.table(columns), folder / "x.parquet", row_group_size=1_000)
        return folder / "x.parquet"
    shards = folder / "shards"  # a folder of Parquet files
    shards.mkdir()
    for i, start in enumerate(range(0, len(rows), 2_000)):
        part = {k: v[start : start + 2_000] for k, v in columns.items()}
        pq.write_table(pa.table(part), shards / f"part-{i}.parquet", row_group_size=600)
    return shards


@pytest.mark.parametrize("kind", ["array", "npy", "npz", "csv", "parquet", "folder"])
def test_every_input_kind_gives_every_row_once(kind, model, rows, tmp_path, small_shards):
    source = write_input(kind, rows, tmp_path)
    result = th.predict(model, source, tmp_path / "out.parquet", workers=2, batch_size=256)
    assert result.rows == len(rows) and result.failed_rows == {}
    check(model, rows, *read_parquet(tmp_path / "out.parquet"))
    assert not (tmp_path / ".out.parquet.parts").exists()


def test_npy_and_folder_outputs(model, rows, tmp_path, small_shards):
    th.predict(model, rows, tmp_path / "out.npy", workers=2)
    records = np.load(tmp_path / "out.npy")
    assert records.dtype.names == ("row", "class", "probabilities")
    check(model, rows, records["row"], records["class"], records["probabilities"])

    result = th.predict(model, rows, tmp_path / "folder", workers=2)
    parts = sorted((tmp_path / "folder").glob("part-*.parquet"))
    assert len(parts) == 8 and (tmp_path / "folder" / "_manifest.json").is_file()
    columns = zip(*map(read_parquet, parts), strict=True)
    ids, classes, probabilities = (np.concatenate(c) for c in columns)
    check(model, rows, ids, classes, probabilities)
    assert result.batch_size in (32, 128, 512, 2048)  # chosen by the trial


def test_a_regressor_writes_values(tmp_path):
    from torch import nn

    path = tmp_path / "r.onnx"
    th.load(nn.Sequential(nn.Linear(3, 1)), input_shape=(3,)).save(path)
    x = np.random.default_rng(1).standard_normal((100, 3)).astype(np.float32)
    th.predict(path, x, tmp_path / "out.parquet", workers=1)
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.column_names == ["row", "value"]
    want = expected(path, x).reshape(-1)
    np.testing.assert_allclose(table.column("value").to_numpy(), want, rtol=1e-5)


def test_a_row_that_always_fails_is_reported_not_retried_forever(model, rows, tmp_path):
    rows[1234, 3] = np.nan
    result = th.predict(model, rows, tmp_path / "out.parquet", workers=2, retries=1)
    assert list(result.failed_rows) == [1234] and "NaN" in result.failed_rows[1234]
    ids, classes, probabilities = read_parquet(tmp_path / "out.parquet")
    assert np.array_equal(np.sort(ids), np.delete(np.arange(len(rows)), 1234))
    keep = np.delete(np.arange(len(rows)), 1234)
    check(model, rows[keep], np.searchsorted(keep, ids), classes, probabilities)


def test_a_killed_worker_loses_and_repeats_no_row(model, tmp_path, small_shards):
    import psutil

    rows = np.random.default_rng(2).standard_normal((40_000, FEATURES)).astype(np.float32)
    outcome = {}
    job = threading.Thread(
        target=lambda: outcome.update(
            result=th.predict(model, rows, tmp_path / "out.parquet", workers=2, batch_size=32)
        )
    )
    job.start()
    victim, deadline = None, time.monotonic() + 60
    while victim is None and time.monotonic() < deadline:
        parts = list((tmp_path / ".out.parquet.parts").glob("part-*.parquet"))
        children = psutil.Process().children()
        if len(parts) >= 2 and children:
            victim = children[-1]
            victim.send_signal(signal.SIGKILL)
        time.sleep(0.01)
    job.join(240)
    assert victim is not None and "result" in outcome
    check(model, rows, *read_parquet(tmp_path / "out.parquet"))


def test_a_killed_driver_resumes_without_redoing_finished_shards(model, tmp_path):
    rows = np.random.default_rng(3).standard_normal((40_000, FEATURES)).astype(np.float32)
    finished = kill_a_driver(model, rows, tmp_path)
    inputs.SHARD_ROWS, before = 1000, inputs.SHARD_ROWS
    try:
        result = th.predict(model, tmp_path / "x.npy", tmp_path / "out.parquet", workers=2)
    finally:
        inputs.SHARD_ROWS = before
    assert result.resumed_shards == finished
    check(model, rows, *read_parquet(tmp_path / "out.parquet"))


class Foreign:
    """An array from another library: reachable only through DLPack, like a CuPy array."""

    def __init__(self, array: np.ndarray):
        self.array = array

    def __dlpack__(self, **kwargs):
        return self.array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self.array.__dlpack_device__()


def test_a_dlpack_array_is_predicted_where_it_is(model, rows, tmp_path, small_shards):
    result = th.predict(model, Foreign(rows), tmp_path / "out.parquet", device="cpu")
    assert result.backend == "this process" and result.workers == 1
    check(model, rows, *read_parquet(tmp_path / "out.parquet"))
    assert not (tmp_path / ".out.parquet.parts").exists()


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA GPU")
def test_on_a_gpu_in_half_precision_the_classes_mostly_agree(model, rows, tmp_path):
    result = th.predict(model, rows, tmp_path / "gpu.parquet", device="cuda", runtime="torch")
    ids, classes, _ = read_parquet(tmp_path / "gpu.parquet")
    want = expected(model, rows).argmax(axis=1)
    assert result.backend == "this process" and result.workers == 1
    assert np.array_equal(np.sort(ids), np.arange(len(rows)))
    assert (classes[np.argsort(ids)] == want).mean() > 0.99


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA GPU")
def test_a_cupy_array_is_predicted_on_the_gpu_without_a_copy(model, rows, tmp_path):
    cupy = pytest.importorskip("cupy")
    on_gpu = cupy.asarray(rows)
    assert inputs.DLPackInput(on_gpu).tensor.data_ptr() == on_gpu.data.ptr
    result = th.predict(model, on_gpu, tmp_path / "cupy.parquet", device="cuda")
    ids, classes, _ = read_parquet(tmp_path / "cupy.parquet")
    assert result.backend == "this process" and np.array_equal(np.sort(ids), np.arange(len(rows)))
    assert (classes[np.argsort(ids)] == expected(model, rows).argmax(axis=1)).mean() > 0.99
