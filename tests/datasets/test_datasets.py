import gzip

import numpy as np
import pytest

import thrifty as th
from thrifty.datasets.idx import read_idx
from thrifty.datasets.preprocess import Scale, Standardize
from thrifty.errors import DataError, DatasetNotInstalled, UnknownDataset


def test_fashion_mnist_keeps_the_official_test_set(fashion):
    assert (len(fashion.train), len(fashion.val), len(fashion.test)) == (55_000, 5_000, 10_000)
    assert fashion.input_shape == (1, 28, 28)
    assert fashion.train.x.dtype == np.float32
    assert fashion.train.x.min() == 0.0 and fashion.train.x.max() == 255.0  # the pixels as given
    assert fashion.classes[9] == "Ankle boot"
    assert fashion.training_steps == (Scale(1 / 255),)


def test_fashion_mnist_missing_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("THRIFTY_FASHION_MNIST_DIR", str(tmp_path))
    with pytest.raises(DatasetNotInstalled, match="apt-get install dataset-fashion-mnist"):
        th.datasets.load("fashion-mnist")


@pytest.mark.parametrize("name", ["digits", "breast-cancer"])
def test_splits_are_seeded(name):
    a, b, c = (th.datasets.load(name, seed=s) for s in (0, 0, 1))
    assert np.array_equal(a.train.x, b.train.x) and np.array_equal(a.test.y, b.test.y)
    assert not np.array_equal(a.train.x, c.train.x)
    total = len(a.train) + len(a.val) + len(a.test)
    assert len(a.test) == pytest.approx(0.2 * total, abs=1)


def test_the_rows_stay_as_given_and_standardize_is_fitted_on_train_only():
    from sklearn.datasets import load_breast_cancer

    data = th.datasets.load("breast-cancer")
    raw = load_breast_cancer().data.astype(np.float32)
    rows = np.concatenate([data.train.x, data.val.x, data.test.x])
    assert sorted(map(tuple, rows)) == sorted(map(tuple, raw))  # split, not changed
    (step,) = data.training_steps
    assert np.allclose(step.mean, data.train.x.mean(axis=0), rtol=1e-5)
    assert not np.allclose(step.mean, data.test.x.mean(axis=0), rtol=1e-3)


def test_images_standardize_with_one_mean_and_std():
    x = np.random.default_rng(0).normal(3.0, 2.0, size=(500, 1, 8, 8)).astype(np.float32)
    step = Standardize.fit(x)
    assert len(step.mean) == len(step.std) == 1
    assert step.mean[0] == pytest.approx(3.0, abs=0.05) and step.std[0] == pytest.approx(2.0, 0.05)


def _rows(n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int64)


def test_npz(tmp_path):
    x, y = _rows()
    np.savez(tmp_path / "rows.npz", x=x, y=y)
    data = th.datasets.load(tmp_path / "rows.npz")
    assert data.task == "classification" and data.classes == ("0", "1")
    assert len(data.train) + len(data.val) + len(data.test) == 200


def test_npz_needs_inputs(tmp_path):
    np.savez(tmp_path / "rows.npz", y=np.zeros(20))
    with pytest.raises(DataError, match="holds only 'y'; save inputs as 'x'"):
        th.datasets.load(tmp_path / "rows.npz")


def test_npz_without_targets_is_scored_against_the_original(tmp_path):
    np.savez(tmp_path / "rows.npz", x=np.zeros((20, 2)))
    data = th.datasets.load(tmp_path / "rows.npz")
    assert data.task == "embedding" and data.needs_reference
    with pytest.raises(DataError, match="has no 'y' for classification"):
        th.datasets.load(tmp_path / "rows.npz", task="classification")


def test_npz_with_objects_is_not_unpickled(tmp_path):
    np.savez(tmp_path / "rows.npz", x=np.array([{"a": 1}] * 20, dtype=object), y=np.zeros(20))
    with pytest.raises(DataError):
        th.datasets.load(tmp_path / "rows.npz")


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_tables_with_a_target_column(tmp_path, suffix):
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    x, _ = _rows()
    table = pa.table({"a": x[:, 0], "b": x[:, 1], "price": 3.0 * x[:, 0] + 1.0})
    path = tmp_path / f"rows.{suffix}"
    (pq.write_table if suffix == "parquet" else pacsv.write_csv)(table, path)
    data = th.datasets.load(path, target="price")
    assert data.task == "regression" and data.features == ("a", "b")
    assert data.metric.spec == "rmse" and data.input_shape == (2,)
    with pytest.raises(DataError, match="--target"):
        th.datasets.load(path)
    with pytest.raises(DataError, match="no column 'cost'"):
        th.datasets.load(path, target="cost")


def test_text_features_are_refused_by_name(tmp_path):
    (tmp_path / "rows.csv").write_text(
        "city,y\n" + "".join(f"c{i % 3},{i % 2}\n" for i in range(30))
    )
    with pytest.raises(DataError, match=r"\['city'\] are not numeric"):
        th.datasets.load(tmp_path / "rows.csv", target="y")


def test_unknown_names_and_missing_files():
    with pytest.raises(UnknownDataset, match="fashion-mnist"):
        th.datasets.load("imagenet")
    with pytest.raises(UnknownDataset, match="does not exist"):
        th.datasets.load("nowhere.csv")


def test_idx_reader_refuses_a_short_file(tmp_path):
    path = tmp_path / "bad-idx3-ubyte.gz"
    header = bytes([0, 0, 8, 3]) + (100).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    path.write_bytes(gzip.compress(header + bytes(28 * 28)))
    with pytest.raises(DataError, match="declares 78400 values but holds 784"):
        read_idx(path)
    path.write_bytes(gzip.compress(b"\x00\x00\x0d\x01" + bytes(8)))
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(path)
