"""Users' own data: ``.npz`` (arrays ``x`` and ``y``, or one array per named input and ``y``;
without ``y``, quality is agreement with the original model's outputs), ``.csv`` and ``.parquet``
with a target."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from thrifty.datasets.base import Dataset, Task
from thrifty.datasets.preprocess import Scale, Step
from thrifty.datasets.rows import from_rows
from thrifty.datasets.samples import Named
from thrifty.errors import DataError

SUFFIXES = (".npz", ".csv", ".parquet")


def from_file(path: Path, *, target: str | None, task: Task | None, seed: int) -> Dataset:
    """Load a user's file and split it; ``task`` is inferred from the targets when not given."""
    suffix = path.suffix.lower()
    if suffix == ".npz":
        x, y, features = _read_npz(path)
    elif suffix in (".csv", ".parquet"):
        x, y, features = _read_table(path, target)
    else:
        raise DataError(f"{path}: thrifty reads {', '.join(SUFFIXES)} data files, not {suffix!r}")
    if y is None:
        return _without_targets(path, x, task, seed)
    task = task or _infer_task(y)
    classes = None
    if task == "classification":
        values, y = np.unique(y, return_inverse=True)
        classes = tuple(str(v) for v in values)
        y = y.astype(np.int64)
    else:
        y = _numeric(y, f"{path}: the target").astype(np.float32)
    if isinstance(x, Named):  # inputs by name, of their own dtypes: as given, nothing fitted
        return from_rows(path.stem, x, y, seed, source=str(path), task=task, classes=classes)
    # the rows stay as given; a model thrifty trains on them scales 8-bit images' pixels to
    # [0, 1], and standardizes anything else, in its first layers
    images = x.dtype == np.uint8 and x.ndim > 2
    steps: tuple[Step, ...] = (Scale(1 / 255),) if images else ()
    return from_rows(
        path.stem,
        _numeric(x, f"{path}: the inputs").astype(np.float32),
        y,
        seed,
        source=str(path),
        task=task,
        classes=classes,
        features=features,
        steps=steps,
        standardize=not images,
    )


def _without_targets(path: Path, x, task: Task | None, seed: int) -> Dataset:
    """Rows with no targets: the ``embedding`` task, scored against the original's outputs."""
    if task not in (None, "embedding"):
        raise DataError(f"{path} has no 'y' for {task}; save the targets as 'y' in the .npz")
    if not isinstance(x, Named):
        x = _numeric(x, f"{path}: the inputs").astype(np.float32)
    zeros = np.zeros(len(x), dtype=np.float32)
    data = from_rows(path.stem, x, zeros, seed, source=str(path), task="embedding")
    return data.with_reference(lambda rows: None)


def _read_npz(path: Path):
    # allow_pickle=False: an .npz with object arrays would otherwise unpickle on read.
    """``x`` (one array), or every array but ``y`` as inputs by name (``input_ids``, ...);
    ``y`` is None when the file has none."""
    try:
        with np.load(path, allow_pickle=False) as arrays:
            inputs = {name: arrays[name] for name in arrays.files if name != "y"}
            y = arrays.get("y")
    except (ValueError, OSError) as error:
        raise DataError(f"{path} is not a readable .npz file ({error})") from error
    if not inputs:
        raise DataError(
            f"{path} holds only 'y'; save inputs as 'x' (or one array per model input, by its "
            "name) beside it: np.savez(path, x=inputs, y=targets)"
        )
    rows = {name: len(array) for name, array in inputs.items()}
    if len(set(rows.values())) > 1:
        raise DataError(f"{path}: its inputs' rows differ ({rows}); they must match")
    if y is None:
        return _inputs(inputs), None, None
    for name, array in inputs.items():
        if len(array) != len(y):
            raise DataError(
                f"{path}: {name} has {len(array)} rows but y has {len(y)}; they must match"
            )
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]  # a column of targets
    if y.ndim not in (1, 2):
        raise DataError(f"{path}: y has shape {y.shape}; give one target or one vector a row")
    return _inputs(inputs), y, None


def _inputs(arrays: dict[str, np.ndarray]):
    return arrays["x"] if list(arrays) == ["x"] else Named(arrays)


def open_table(path: Path):
    """A ``.csv`` or ``.parquet`` file as an Arrow table; one line if it cannot be read."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path) if path.suffix.lower() == ".parquet" else pacsv.read_csv(path)
    except (pa.ArrowException, OSError) as error:
        raise DataError(f"{path} could not be read as {path.suffix[1:]} ({error})") from error


def _read_table(path: Path, target: str | None):
    table = open_table(path)
    columns = table.column_names
    if target is None:
        raise DataError(f"{path}: name the column to predict with --target; columns: {columns}")
    if target not in columns:
        raise DataError(f"{path} has no column {target!r}; columns: {columns}")
    features = [c for c in columns if c != target]
    text = [c for c in features if not _is_number(table.schema.field(c).type)]
    if text:
        raise DataError(
            f"{path}: feature columns {text} are not numeric; encode them as numbers or drop them"
        )
    y = table.column(target).to_numpy(zero_copy_only=False)
    x = np.column_stack([table.column(c).to_numpy(zero_copy_only=False) for c in features])
    if np.isnan(x.astype(np.float64)).any():
        raise DataError(f"{path} has missing values in its features; fill or drop those rows first")
    return x, y, tuple(features)


def _is_number(arrow_type) -> bool:
    import pyarrow.types as pat

    return pat.is_integer(arrow_type) or pat.is_floating(arrow_type) or pat.is_boolean(arrow_type)


def _infer_task(y: np.ndarray) -> Task:
    """Integer, boolean and text targets are classes; floating-point targets and vectors (an
    embedding a row, N x k) are values."""
    vectors = y.ndim == 2
    return "regression" if vectors or np.issubdtype(y.dtype, np.floating) else "classification"


def _numeric(a: np.ndarray, what: str) -> np.ndarray:
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
        raise DataError(f"{what} are {a.dtype}, not numbers; convert them to numbers first")
    return a
