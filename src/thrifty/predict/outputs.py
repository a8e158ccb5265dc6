"""Predictions written exactly once: a shard file per unit of work, each committed atomically,
and a manifest that says which shards are done (docs in ``thrifty.predict.job``).

A shard file holds ``row`` (the input row's index), and ``class`` with ``probabilities`` for a
classifier, ``value`` (or ``values``) for a regressor, or ``vector`` for an embedding model.
Its name carries its first and last row, so a re-run knows what it covers without opening it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from thrifty.atomic import write_atomic
from thrifty.predict.inputs import Shard


def shard_name(shard: Shard) -> str:
    return f"part-{shard.index:06d}-rows-{shard.start}-{shard.stop}.parquet"


def columns(rows: np.ndarray, scores: np.ndarray, vectors: bool = False) -> dict[str, Any]:
    """The output columns for ``scores`` (the model's output for ``rows``, their indices);
    ``vectors``: they are embeddings, written as they are."""
    import pyarrow as pa

    scores = np.asarray(scores)
    if vectors:
        flat = pa.array(scores.astype(np.float32).reshape(-1))
        width = scores.reshape(len(rows), -1).shape[1]
        return {"row": pa.array(rows, pa.int64()),
                "vector": pa.FixedSizeListArray.from_arrays(flat, width)}  # fmt: skip
    if scores.ndim == 2 and scores.shape[1] > 1:
        probabilities = _probabilities(scores.astype(np.float64))
        return {
            "row": pa.array(rows, pa.int64()),
            "class": pa.array(scores.argmax(axis=1), pa.int64()),
            "probabilities": pa.FixedSizeListArray.from_arrays(
                pa.array(probabilities.astype(np.float32).reshape(-1)), scores.shape[1]
            ),
        }
    return {"row": pa.array(rows, pa.int64()), "value": pa.array(scores.reshape(len(rows)))}


def _probabilities(scores: np.ndarray) -> np.ndarray:
    """The scores themselves if they already are probabilities, else their softmax."""
    if scores.min() >= 0 and np.allclose(scores.sum(axis=1), 1, atol=1e-3):
        return scores
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def write_shard(
    folder: Path,
    shard: Shard,
    rows: np.ndarray,
    scores: np.ndarray | None,
    failures: dict[int, str] | None = None,
    vectors: bool = False,
) -> Path:
    """Commit one shard's predictions: the rows that failed, if any, are written (or an old
    list of them removed) first; then the shard, whole to a temporary file, then renamed.
    ``scores`` None: no row of the shard could be predicted (``failures`` says why);
    ``vectors``: they are an embedding model's."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        columns(rows, scores, vectors) if scores is not None else {"row": pa.array([], pa.int64())}
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    if failures:
        document = {str(row): error for row, error in failures.items()}
        write_atomic(
            _failures_path(folder, shard), (json.dumps(document, indent=1) + "\n").encode()
        )
    else:
        _failures_path(folder, shard).unlink(missing_ok=True)
    return write_atomic(folder / shard_name(shard), buffer.getvalue())


def read_failures(folder: Path, shard: Shard) -> dict[int, str]:
    try:
        return {int(k): v for k, v in json.loads(_failures_path(folder, shard).read_text()).items()}
    except (OSError, ValueError):
        return {}


def _failures_path(folder: Path, shard: Shard) -> Path:
    return folder / shard_name(shard).replace(".parquet", ".failed.json")


def done_shards(folder: Path, shards: list[Shard]) -> set[int]:
    """Indices of the shards committed whole: their file's rows and their failed rows add up to
    exactly the shard's rows."""
    import pyarrow.parquet as pq

    done = set()
    for shard in shards:
        path = folder / shard_name(shard)
        try:
            rows = pq.ParquetFile(path).metadata.num_rows if path.is_file() else -1
        except OSError:  # a file that is not Parquet is redone
            continue
        if rows + len(read_failures(folder, shard)) == shard.rows:
            done.add(shard.index)
    return done


def write_manifest(folder: Path, document: dict[str, Any]) -> None:
    write_atomic(folder / "_manifest.json", (json.dumps(document, indent=1) + "\n").encode())
