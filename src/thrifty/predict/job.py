"""``th.predict``: a model over many rows, in parallel, each row predicted and written once.

The rows are cut into shards (Parquet row groups, or 65,536-row ranges). Each shard's
predictions are committed as one file in a work folder, atomically; a re-run of the same job
skips the shards already committed, so a killed job resumes and no row is written twice. When
every shard is done, the output is written: a folder of the shard files with ``_manifest.json``,
or one ``.parquet`` / ``.npy`` file assembled from them (atomically, then the work folder goes).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from thrifty.datasets.samples import describe, feed, is_named
from thrifty.errors import DataError, DataMismatch
from thrifty.paths import writable_file, writable_folder
from thrifty.predict.inputs import (
    DLPackInput,
    Shard,
    check_input,
    is_dlpack,
    is_text,
    open_input,
)
from thrifty.predict.outputs import done_shards, read_failures, shard_name, write_manifest
from thrifty.predict.session import available_cores
from thrifty.predict.worker import Plan, Worker

BATCH_SIZES = (32, 128, 512, 2048)


@dataclass
class Predicted:
    """What a predict job did and chose."""

    output: Path
    rows: int
    seconds: float
    workers: int
    threads: int
    batch_size: int
    backend: str
    resumed_shards: int = 0
    failed_rows: dict[int, str] = field(default_factory=dict)

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


def predict(
    model: Any,
    inputs: Any,
    outputs: str | Path,
    *,
    workers: int | str = "auto",
    threads: int | str = "auto",
    batch_size: int | str = "auto",
    device: str = "auto",
    runtime: str = "onnxruntime",
    precision: str = "auto",
    cluster: str | None = None,
    retries: int = 2,
    progress: bool = False,
) -> Predicted:
    """Run ``model`` over every row of ``inputs`` and write the predictions to ``outputs``.

    ``inputs``: a .parquet file or folder, .csv, .npy, .npz, .txt (texts, one a line, for a
    model that carries its tokenizer), or an array; an array of another
    library that DLPack can view (CuPy, a torch tensor) is used where it is, without a copy,
    by PyTorch in this process. ``precision``: PyTorch on a GPU, or OpenVINO, may run in fp16
    or bf16 (see ``open_session``). ``outputs``: a .parquet or .npy file, or a folder (one
    Parquet file per shard and ``_manifest.json``). ``workers``: processes (``auto``: one per
    core on a CPU; a GPU job runs in this process, on the CUDA context it checked the model
    with); ``threads``: each one's runtime threads (``auto``: the cores shared among the
    workers); ``cluster``: a Ray address to run on
    a Ray cluster instead (``"local"`` starts one on this machine).

    >>> th.predict("lenet.thrifty", "images.npy", "predictions.parquet")  # doctest: +SKIP
    """
    started = time.perf_counter()
    outputs = Path(outputs)
    check_input(inputs)
    folder = _work_folder(outputs)
    with _work_in(folder):
        model_path = _model_file(model, folder)
        in_place = is_dlpack(inputs)
        if in_place:
            source, runtime, workers = DLPackInput(inputs), "torch", 1
        else:
            encoding = _encoding(model_path) if is_text(inputs) else None
            source = open_input(inputs, spill=folder / "_input", encoding=encoding)
        shards = source.shards()
        _forget_other_jobs(folder, source, model_path, shards)
        done = done_shards(folder, shards)
        todo = [s for s in shards if s.index not in done]
        run = _probe(model_path, source, runtime, device, 1, precision)
        size = _batch_size(batch_size, run, source)
        count, threads = _layout(workers, threads, run.device, model_path, source, runtime, size)
        plan = Plan(model_path, source.path, folder, runtime, device, threads, size, precision)
        here = in_place or (run.device == "cuda" and cluster is None)
        with _bar(source.rows, progress) as advance:
            advance(sum(s.rows for s in shards if s.index in done))
            if todo:
                backend = _in_this_process(source) if here else _backend(cluster)
                backend(plan, todo, count, retries, lambda d: advance(d.rows + d.failed))
    failed = {row: e for s in shards for row, e in read_failures(folder, s).items()}
    _finish(outputs, folder, shards, source, failed)
    return Predicted(
        outputs, source.rows, time.perf_counter() - started, count, threads, size,
        "this process" if here else "local" if cluster is None else "ray", len(done), failed,
    )  # fmt: skip


def _in_this_process(source):
    """The backend for one worker here: an array viewed through DLPack, used where it is, or a
    GPU job, which keeps the CUDA context the probe made instead of starting a second one."""

    def run(plan: Plan, shards: list[Shard], workers: int, retries: int, done) -> None:
        worker = Worker(plan, source)
        for shard in shards:
            done(worker.attempt(shard, retries))

    return run


def _backend(cluster: str | None):
    """``run(plan, shards, workers, retries, done)`` of the local pool, or of Ray."""
    if cluster is None:
        from thrifty.predict.local import run_local

        return run_local
    from thrifty.predict.ray_backend import ray_runner

    return ray_runner(cluster)


@contextlib.contextmanager
def _work_in(folder: Path) -> Iterator[None]:
    """Create the work folder; remove it again if the job fails before committing a shard."""
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield
    except BaseException:
        if created and not any(folder.glob("part-*")):
            shutil.rmtree(folder, ignore_errors=True)
        raise


def _work_folder(outputs: Path) -> Path:
    """Where shards are committed: the output folder itself, or a hidden one beside a file;
    either checked writable before any work."""
    if outputs.suffix.lower() in (".parquet", ".npy"):
        return writable_file(outputs).with_name(f".{outputs.name}.parts")
    if outputs.suffix:
        raise DataError(
            f"{outputs}: write predictions to a .parquet or .npy file, or a folder (no suffix)"
        )
    return writable_folder(outputs)


def _model_file(model: Any, folder: Path) -> Path:
    """A model file the workers can load: the user's file, or the model written as ONNX."""
    if isinstance(model, str | Path) and Path(model).is_file():
        return Path(model).resolve()
    from thrifty.loading import load

    path = folder / "_model.onnx"
    load(model).save(path)
    return path


def _encoding(model: Path):
    """The tokenizer the model's file carries (None if it carries none)."""
    from thrifty.loading import load

    return load(model).text_encoding


def _forget_other_jobs(folder: Path, source, model: Path, shards: list[Shard]) -> None:
    """Shards left by another job (other rows, another model) are not this job's: drop them."""
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    job = {"input": source.describe(), "model_sha256": digest, "shards": len(shards)}
    job_file = folder / "_job.json"
    text = json.dumps(job, sort_keys=True, default=str)
    if job_file.exists() and job_file.read_text() != text:
        for part in folder.glob("part-*"):
            part.unlink()
    job_file.write_text(text)


def _probe(model: Path, source, runtime: str, device: str, threads: int, precision: str):
    """The model run in the driver, checked on the first rows: data that does not fit the model
    is one clear error now, not a failure in every worker."""
    from thrifty.loading import load
    from thrifty.predict.session import open_session

    loaded = load(model)
    session = open_session(loaded, runtime, device, threads, precision)

    def run(batch) -> np.ndarray:
        return session.run(feed(loaded.fit_inputs(batch)))

    run.device = session.device  # what "auto" became
    first = source.read(0, min(source.rows, 2))
    try:
        run(first)
    except DataMismatch:
        raise
    except Exception as error:  # the runtime's own error types
        named = is_named(first)
        given = f"inputs {describe(first)}" if named else f"shape {first.shape[1:]}"
        takes = f"inputs {list(loaded.input_names)}" if named else f"input {loaded.input_shape}"
        raise DataMismatch(
            f"the rows have {given}, and the model ({takes}) cannot take them: "
            f"{str(error).splitlines()[0][:200]}"
        ) from None
    return run


def _layout(workers, threads, device, model: Path, source, runtime: str, size: int):
    """(workers, threads each): as given, or chosen. On a GPU: one worker with every core. On
    CPUs, when both are ``auto``, a short trial: one single-threaded session against one with
    every core; many single-threaded workers win unless one session scales better alone."""
    cores = available_cores()
    if device == "cuda":
        return 1, cores if threads == "auto" else int(threads)
    if workers != "auto":
        count = int(workers)
        return count, max(1, cores // count) if threads == "auto" else int(threads)
    if threads != "auto":
        return max(1, cores // int(threads)), int(threads)
    if cores == 1:
        return 1, 1
    rates = {t: _rate(_probe(model, source, runtime, device, t, "fp32"), source, size)
             for t in (1, cores)}  # fmt: skip
    return (cores, 1) if cores * rates[1] >= rates[cores] else (1, cores)


def _rate(run, source, size: int) -> float:
    """Rows a second of ``run`` on the first ``size`` rows, over about 0.1 s."""
    batch = source.read(0, min(source.rows, size))
    run(batch)  # warm up
    started, count = time.perf_counter(), 0
    while time.perf_counter() - started < 0.1:
        run(batch)
        count += len(batch)
    return count / (time.perf_counter() - started)


def _batch_size(batch_size, run, source) -> int:
    """The batch size given, or the fastest of BATCH_SIZES in a short trial on the first rows."""
    if batch_size != "auto":
        if int(batch_size) < 1:
            raise DataError(f"batch size must be at least 1, got {batch_size}")
        return int(batch_size)
    best, best_rate = BATCH_SIZES[0], 0.0
    for size in BATCH_SIZES:
        rate = _rate(run, source, size)
        if rate > best_rate:
            best, best_rate = size, rate
        if source.rows <= size:
            break
    return best


def _finish(outputs: Path, folder: Path, shards: list[Shard], source, failed: dict) -> None:
    parts = [folder / shard_name(s) for s in shards]
    if outputs.suffix.lower() == ".parquet":
        _assemble_parquet(outputs, parts)
    elif outputs.suffix.lower() == ".npy":
        _assemble_npy(outputs, parts)
    else:
        write_manifest(
            folder,
            {"rows": source.rows, "input": source.describe(), "failed_rows": len(failed),
             "shards": [{"file": p.name, "start": s.start, "stop": s.stop}
                        for p, s in zip(parts, shards, strict=True)]},
        )  # fmt: skip
        return
    if not failed:
        shutil.rmtree(folder)


def _assemble_parquet(outputs: Path, parts: list[Path]) -> None:
    """One Parquet file, a row group per shard, streamed shard by shard into a temporary file
    that is renamed when complete."""
    import pyarrow.parquet as pq

    from thrifty.atomic import atomic_file

    schemas = [pq.read_schema(p) for p in parts]
    schema = next((s for s in schemas if len(s) > 1), schemas[0])
    with atomic_file(outputs) as handle, pq.ParquetWriter(handle, schema) as writer:
        for part in parts:
            table = pq.read_table(part)
            if table.num_rows:
                writer.write_table(table)


def _assemble_npy(outputs: Path, parts: list[Path]) -> None:
    """One .npy of records, (row, class, probabilities) or (row, value), streamed shard by
    shard into a temporary file that is renamed when complete."""
    import pyarrow.parquet as pq
    from numpy.lib import format as npy

    from thrifty.atomic import atomic_file

    blocks = (_records(pq.read_table(p)) for p in parts)
    counts = [pq.ParquetFile(p).metadata.num_rows for p in parts]
    first = next((b for b in (_records(pq.read_table(p)) for p in parts) if len(b)), None)
    dtype = first.dtype if first is not None else np.dtype([("row", "<i8")])
    header = {"descr": npy.dtype_to_descr(dtype), "fortran_order": False, "shape": (sum(counts),)}
    with atomic_file(outputs) as handle:
        npy.write_array_header_2_0(handle, header)
        for block in blocks:
            if len(block):
                handle.write(block.astype(dtype, copy=False).tobytes())


def _records(table) -> np.ndarray:
    """A Parquet table of predictions as a NumPy record array."""
    arrays = {}
    for name in table.column_names:
        column = table.column(name).combine_chunks()
        if hasattr(column, "flatten") and hasattr(column.type, "list_size"):  # probabilities
            values = column.flatten().to_numpy(zero_copy_only=False)
            arrays[name] = values.reshape(len(column), column.type.list_size)
        else:
            arrays[name] = column.to_numpy(zero_copy_only=False)
    dtype = np.dtype([(n, a.dtype, a.shape[1:]) for n, a in arrays.items()])
    records = np.empty(table.num_rows, dtype)
    for name, array in arrays.items():
        records[name] = array
    return records


@contextlib.contextmanager
def _bar(total: int, show: bool) -> Iterator[Callable[[int], None]]:
    """Rows predicted, when asked: a rich bar on a terminal, otherwise a line every few
    seconds and one at the end (thrifty.progress)."""
    from thrifty.progress import Lines, on_terminal

    if not show:
        yield lambda n: None
        return
    if not on_terminal():
        lines, done = Lines(), 0

        def say(rows: int, *, end: bool = False) -> None:
            nonlocal done
            done += rows
            if rows or end:
                lines.say(f"predict: {done:,} of {total:,} rows, {lines.seconds:.0f} s", done=end)

        yield say
        say(0, end=True)
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RowsPerSecond(ProgressColumn):
        def render(self, task) -> Text:
            return Text(f"{task.speed or 0:,.0f} rows/s")

    columns = (BarColumn(), MofNCompleteColumn(), RowsPerSecond(), TimeRemainingColumn())
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task("predict", total=total)
        yield lambda n: progress.update(task, advance=n)
