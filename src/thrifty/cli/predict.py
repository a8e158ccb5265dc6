"""``thrifty predict``: every row of a data set through a model, in parallel, each written once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from thrifty.cli.options import Device, ModelSource, Ray, Runtime, Workers
from thrifty.paths import existing_model


def predict(
    model: ModelSource,
    inputs: Annotated[
        str,
        typer.Argument(
            help="Rows: a .parquet file or folder, .csv, .npy or .npz; or a .txt of texts, one a "
            "line, for a model that carries its tokenizer."
        ),
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="A .parquet or .npy file, or a folder.")
    ],
    workers: Workers = "auto",
    threads: Annotated[str, typer.Option(help="Runtime threads per worker, or auto.")] = "auto",
    batch_size: Annotated[str, typer.Option(help="Rows per batch, or auto.")] = "auto",
    device: Device = "auto",
    runtime: Runtime = "onnxruntime",
    precision: Annotated[
        str,
        typer.Option(
            help="auto, fp32, fp16 or bf16: PyTorch on a GPU (auto: bf16 or fp16), OpenVINO "
            "where the CPU computes in it (auto: fp32)."
        ),
    ] = "auto",
    ray: Ray = None,
) -> None:
    """Predict every row of a data set in parallel; each row is written exactly once."""
    from thrifty.predict import predict as run
    from thrifty.report.text import how_it_runs
    from thrifty.units import rate

    existing_model(model)
    done = run(
        model, inputs, output, workers=workers, threads=threads, batch_size=batch_size,
        device=device, runtime=runtime, precision=precision, cluster=ray,
        progress=True,
    )  # fmt: skip
    how = how_it_runs(runtime, done.threads, workers=done.workers)
    typer.echo(
        f"predicted {done.rows:,} rows into {output} in {done.seconds:.1f} s "
        f"({rate(done.rows_per_s)} rows/s; {done.backend}: {how}, batch {done.batch_size})"
    )
    if done.resumed_shards:
        typer.echo(f"resumed: {done.resumed_shards} shards were already done")
    if done.failed_rows:
        first = min(done.failed_rows)
        typer.echo(
            f"{len(done.failed_rows)} rows could not be predicted (row {first}: "
            f"{done.failed_rows[first]}); they are listed in the output's *.failed.json",
            err=True,
        )
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command(
        epilog="Example: thrifty predict lenet.thrifty images.parquet -o predictions.parquet"
    )(predict)
