"""Rows to predict on, read a range at a time so memory stays bounded whatever the input's size.

Every input becomes one of four readers: a ``.npy`` read by offset (``.npy`` files; arrays and
``.npz`` members, written once to a temporary ``.npy``), named inputs (an ``.npz`` of one array
per model input, ``input_ids`` and ``attention_mask`` say, or a folder of such ``.npy`` files:
the same rows of each), Parquet read by row group (a file, a folder of ``*.parquet`` shards,
or a ``.csv`` re-written once as Parquet, streaming, since a CSV cannot be read at an offset),
or token ids (a ``.txt`` of texts, tokenized once by the model's tokenizer: ``predict/texts.py``).
``shards()`` cuts the rows into units of work; ``read(start, stop)`` returns them.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from thrifty.errors import DataError
from thrifty.predict import texts

SHARD_BYTES = 16 * 2**20  # input per unit of work for .npy inputs (Parquet: its row groups)
SHARD_ROWS = 65_536  # at most, so that small rows still make several shards
CSV_BLOCK = 2**22  # bytes of CSV parsed at a time
SUFFIXES = (".parquet", ".csv", ".npy", ".npz", ".txt")


@dataclass(frozen=True)
class Shard:
    index: int
    start: int
    stop: int

    @property
    def rows(self) -> int:
        return self.stop - self.start


def ranges(rows: int, row_bytes: int) -> list[Shard]:
    """Ranges of about SHARD_BYTES of input (at most SHARD_ROWS rows): the same for the same
    input every time, so that a re-run finds the shards it committed."""
    size = max(1, min(SHARD_ROWS, SHARD_BYTES // max(row_bytes, 1)))
    return [Shard(i, s, min(s + size, rows)) for i, s in enumerate(range(0, rows, size))]


class NpyInput:
    """A .npy file whose rows are read by offset when asked for: only its header is parsed up
    front, and no part of it stays mapped (a mapped file would count in every worker's RSS)."""

    def __init__(self, path: Path):
        from numpy.lib import format as npy

        self.path = path
        try:
            with path.open("rb") as handle:
                version = npy.read_magic(handle)
                header = {(1, 0): npy.read_array_header_1_0, (2, 0): npy.read_array_header_2_0}
                if version not in header:
                    raise ValueError(f"format version {version}")
                self.shape, fortran, self.dtype = header[version](handle)
                self.offset = handle.tell()
        except (ValueError, OSError) as error:
            raise DataError(f"{path} is not a readable .npy file ({error})") from None
        if fortran or not self.shape or not np.issubdtype(self.dtype, np.number):
            raise DataError(f"{path} holds {self.dtype} {self.shape}: not rows of numbers")
        self.rows = self.shape[0]
        self.row_bytes = self.dtype.itemsize * int(np.prod(self.shape[1:], dtype=np.int64))
        if path.stat().st_size < self.offset + self.rows * self.row_bytes:
            raise DataError(f"{path} is shorter than its header says; it is truncated")

    def shards(self) -> list[Shard]:
        return ranges(self.rows, 4 * int(np.prod(self.shape[1:], dtype=np.int64)))

    def read(self, start: int, stop: int) -> np.ndarray:
        return self.stored(start, stop).astype(np.float32, copy=False)

    def stored(self, start: int, stop: int) -> np.ndarray:
        """The rows as the file holds them (token ids stay integers)."""
        size, at = (stop - start) * self.row_bytes, self.offset + start * self.row_bytes
        with self.path.open("rb") as handle:
            data = os.pread(handle.fileno(), size, at)
        return np.frombuffer(data, self.dtype).reshape((stop - start, *self.shape[1:]))

    def describe(self) -> dict[str, Any]:
        return {"path": str(self.path.resolve()), "rows": self.rows, "shape": self.shape}


class NamedInput:
    """A folder of ``.npy`` files, one per model input, named after it (``input_ids.npy``):
    the same rows of each, read by offset, in their own dtypes."""

    def __init__(self, path: Path):
        self.path = path
        self.inputs = {p.stem: NpyInput(p) for p in sorted(path.glob("*.npy"))}
        counts = {name: reader.rows for name, reader in self.inputs.items()}
        if len(set(counts.values())) > 1:
            raise DataError(f"{path}: the inputs have different numbers of rows: {counts}")
        self.rows = next(iter(counts.values()))

    def shards(self) -> list[Shard]:
        return ranges(self.rows, sum(reader.row_bytes for reader in self.inputs.values()))

    def read(self, start: int, stop: int):
        from thrifty.datasets.samples import Named

        return Named({name: r.stored(start, stop) for name, r in self.inputs.items()})

    def describe(self) -> dict[str, Any]:
        shapes = {name: list(reader.shape) for name, reader in self.inputs.items()}
        return {"path": str(self.path.resolve()), "rows": self.rows, "inputs": shapes}


def is_tokens(path: Path) -> bool:
    return path.is_dir() and (path / texts.ABOUT).is_file()


class TokensInput:
    """A folder ``spill_texts`` wrote: rows read as ``Tokens`` (padded per batch when fed)."""

    def __init__(self, path: Path):
        self.path = path
        self.about = json.loads((path / texts.ABOUT).read_text())
        self.offsets = np.load(path / "offsets.npy")
        self.rows = len(self.offsets) - 1

    def shards(self) -> list[Shard]:
        names = 3 if self.about["with_type_ids"] else 2
        return ranges(self.rows, 8 * names * int(self.offsets[-1]) // max(self.rows, 1))

    def read(self, start: int, stop: int):
        from thrifty.datasets.tokens import Tokens

        first, last = int(self.offsets[start]), int(self.offsets[stop])
        with (self.path / "ids.bin").open("rb") as handle:
            data = os.pread(handle.fileno(), 8 * (last - first), 8 * first)
        ids = np.frombuffer(data, "<i8").astype(np.int64)
        offsets = self.offsets[start : stop + 1] - first
        return Tokens(ids, offsets, self.about["pad_id"], self.about["with_type_ids"])

    def describe(self) -> dict[str, Any]:
        return {"texts": self.about["source"], "rows": self.rows, "tokens": int(self.offsets[-1])}


class ParquetInput:
    """A Parquet file or a folder of them; every numeric column is a feature, in order."""

    def __init__(self, path: Path, columns: list[str] | None = None):
        import pyarrow.parquet as pq

        files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
        if not files:
            raise DataError(f"{path} is a folder with no .parquet files in it")
        self.path, self.groups, self.rows = path, [], 0
        try:
            for file in files:
                metadata = pq.ParquetFile(file).metadata
                for group in range(metadata.num_row_groups):
                    count = metadata.row_group(group).num_rows
                    if count:
                        self.groups.append((file, group, self.rows, count))
                        self.rows += count
            schema = pq.read_schema(files[0])
        except OSError as error:
            raise DataError(f"{path} could not be read as Parquet ({error})") from None
        self.columns = columns or [f.name for f in schema if _is_number(f.type)]
        if not self.columns:
            raise DataError(f"{path} has no numeric columns to predict on")

    def shards(self) -> list[Shard]:
        return [Shard(i, start, start + n) for i, (_, _, start, n) in enumerate(self.groups)]

    def read(self, start: int, stop: int) -> np.ndarray:
        import pyarrow.parquet as pq

        parts = []
        for file, group, first, count in self.groups:
            if first < stop and first + count > start:
                table = pq.ParquetFile(file).read_row_group(group, columns=self.columns)
                matrix = np.column_stack(
                    [table.column(c).to_numpy(zero_copy_only=False) for c in self.columns]
                )
                parts.append(matrix[max(start - first, 0) : min(stop - first, count)])
        return np.concatenate(parts).astype(np.float32, copy=False)

    def describe(self) -> dict[str, Any]:
        return {"path": str(self.path.resolve()), "rows": self.rows, "columns": self.columns}


class DLPackInput:
    """An array on a device (a CuPy array, a torch tensor): viewed through DLPack, not copied;
    rows are sliced where they are, and predicted in this process."""

    def __init__(self, array: Any):
        import torch

        self.tensor = torch.from_dlpack(array)
        if self.tensor.ndim < 1:
            raise DataError(f"the array has shape {tuple(self.tensor.shape)}: not rows")
        self.rows = int(self.tensor.shape[0])
        self.path = None

    def shards(self) -> list[Shard]:
        return ranges(self.rows, 4 * int(np.prod(tuple(self.tensor.shape[1:]), dtype=np.int64)))

    def read(self, start: int, stop: int):
        return self.tensor[start:stop].float()

    def describe(self) -> dict[str, Any]:
        return {"dlpack": list(self.tensor.shape), "device": str(self.tensor.device)}


def is_dlpack(source: Any) -> bool:
    """An array from another library that DLPack can view (NumPy arrays are read as NumPy)."""
    return hasattr(source, "__dlpack__") and not isinstance(source, np.ndarray)


def check_input(source: Any) -> None:
    """DataError now, before any work, for an input that cannot be read."""
    if isinstance(source, np.ndarray) or is_dlpack(source):
        return
    path = Path(source)
    if not path.exists():
        raise DataError(f"{path} does not exist; give a .parquet, .csv, .npy, .npz or .txt file")
    if not path.is_dir() and path.suffix.lower() not in SUFFIXES:
        raise DataError(
            f"{path}: predict reads .parquet (file or folder), .csv, .npy, .npz and .txt (texts)"
        )


def is_text(source: Any) -> bool:
    return isinstance(source, str | Path) and Path(source).suffix.lower() == ".txt"


def open_input(source: Any, spill: Path | None = None, encoding=None):
    """The reader for ``source``: an array, or a .npy/.npz/.csv/.parquet/.txt file or folder.
    Arrays and .npz are first written to ``spill``.npy (an .npz of several inputs to the folder
    ``spill``), .csv to ``spill``.parquet, streaming, and a .txt to the folder ``spill`` as the
    token ids of ``encoding`` (the model's tokenizer); the reader's ``path`` is then what a
    worker opens."""
    if isinstance(source, np.ndarray) and spill is not None:
        np.save(spill.with_suffix(".npy"), source)
        return NpyInput(spill.with_suffix(".npy"))
    check_input(source)
    path = Path(source)
    suffix = path.suffix.lower()
    if is_tokens(path):
        return TokensInput(path)
    if path.is_dir() and any(path.glob("*.npy")):
        return NamedInput(path)
    if path.is_dir() or suffix == ".parquet":
        return ParquetInput(path)
    if suffix == ".npy":
        return NpyInput(path)
    if suffix in (".csv", ".npz", ".txt") and spill is None:
        raise DataError(f"{path}: .csv, .npz and .txt inputs need a place to spill them to")
    if suffix == ".txt":
        return TokensInput(texts.spill_texts(path, encoding, spill))
    if suffix == ".csv":
        return ParquetInput(_csv_to_parquet(path, spill.with_suffix(".parquet")))
    if suffix == ".npz":
        spilled = _npz_to_npy(path, spill)
        return NamedInput(spilled) if spilled.is_dir() else NpyInput(spilled)
    raise AssertionError(f"check_input let {path} through")


def _csv_to_parquet(path: Path, spill: Path) -> Path:
    """The CSV re-written as Parquet a block at a time, each block a row group (a shard)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    try:
        reader = pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=CSV_BLOCK))
        with pq.ParquetWriter(spill, reader.schema) as out:
            for batch in reader:
                out.write_batch(batch)
    except (pa.ArrowException, OSError) as error:
        raise DataError(f"{path} could not be read as CSV ({error})") from None
    return spill


def _npz_to_npy(path: Path, spill: Path) -> Path:
    """The .npz's ``x`` (or its only array) decompressed as a stream into ``spill``.npy; or, for
    an .npz of named inputs (every array but a ``y``), each into the folder ``spill``."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n.removesuffix(".npy") for n in archive.namelist()]
            inputs = ["x"] if "x" in names else [n for n in names if n != "y"]
            if not inputs:
                raise DataError(f"{path} holds {names}: no rows to predict on")
            single = len(inputs) == 1
            if not single:
                shutil.rmtree(spill, ignore_errors=True)  # another job's spill, of other rows
                spill.mkdir()
            for name in inputs:
                target = spill.with_suffix(".npy") if single else spill / f"{name}.npy"
                with archive.open(f"{name}.npy") as member, target.open("wb") as out:
                    while block := member.read(2**22):
                        out.write(block)
    except (zipfile.BadZipFile, OSError, KeyError) as error:
        raise DataError(f"{path} is not a readable .npz file ({error})") from None
    return spill.with_suffix(".npy") if single else spill


def _is_number(arrow_type) -> bool:
    import pyarrow.types as pat

    return pat.is_integer(arrow_type) or pat.is_floating(arrow_type) or pat.is_boolean(arrow_type)
