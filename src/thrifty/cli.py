"""The ``thrifty`` command: one sub-command per verb, each a thin layer over the Python API.

Exit status: 0 on success, 1 on a user error (one line on stderr saying what to do), 2 on a
usage error (unknown option, missing argument).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from thrifty.cli_optimize import register_optimize_commands
from thrifty.cli_options import AsJson, Data, Metric, ModelSource, Target, Text
from thrifty.cli_ship import register_ship_commands
from thrifty.errors import ThriftyError
from thrifty.paths import existing_model, writable_file

app = typer.Typer(
    help="Make neural networks cheap to run, store and ship, and see what they cost in money.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"thrifty {version('thrifty')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print version.")
    ] = False,
) -> None:
    """thrifty: what your model costs, and the cheapest version of it within your budget."""


@app.command(epilog="Example: thrifty profile model.onnx --data fashion-mnist --json")
def profile(
    model: ModelSource,
    data: Data,
    target: Target = None,
    text: Text = None,
    split: Annotated[str, typer.Option(help="The held-out split to measure on.")] = "test",
    metric: Metric = None,
    runtime: Annotated[
        str,
        typer.Option(help="onnxruntime, torch or torch-sparse (pruned layers as sparse matrices)."),
    ] = "onnxruntime",
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    threads: Annotated[
        int | None, typer.Option(help="Threads per session (default: all cores).")
    ] = None,
    pricing: Annotated[
        Path | None,
        typer.Option(help="A pricing profile: a TOML file, or internet (default) or same-zone."),
    ] = None,
    inferences_per_month: Annotated[
        float, typer.Option(help="Workload: inferences a month.")
    ] = 10_000_000,
    replicas: Annotated[int, typer.Option(help="Workload: copies of the model in service.")] = 2,
    deploys_per_month: Annotated[int, typer.Option(help="Workload: new versions a month.")] = 4,
    versions_kept: Annotated[int, typer.Option(help="Workload: versions kept in storage.")] = 10,
    as_json: AsJson = False,
) -> None:
    """Measure what a model costs: compute, storage, bandwidth, quality, and the monthly bill."""
    from thrifty.datasets import load as load_data
    from thrifty.loading import load
    from thrifty.measure import Bill, Workload, load_pricing
    from thrifty.measure import profile as measure

    workload = Workload(inferences_per_month, replicas, deploys_per_month, versions_kept)
    prices = load_pricing(pricing)
    loaded = load(model)
    with _status("measuring", quiet=as_json):
        cost = measure(
            loaded,
            load_data(data, target=target, text=text, model=loaded),
            split=split,
            runtime=runtime,
            device=device,
            threads=threads,
            metric=metric,
        )
    _show(cost, Bill.of(cost, prices, workload), as_json)


@app.command(epilog="Example: thrifty train lenet-300-100 --data fashion-mnist -o lenet.onnx")
def train(
    name: Annotated[
        str, typer.Argument(help="A zoo model: lenet-300-100, lenet-5, mlp-2048, tabular-mlp.")
    ],
    data: Data,
    output: Annotated[Path, typer.Option("--output", "-o", help="The ONNX file to write.")],
    target: Target = None,
    epochs: Annotated[int, typer.Option(help="At most this many epochs.")] = 30,
    patience: Annotated[int, typer.Option(help="Stop after this many epochs without gain.")] = 5,
    seed: Annotated[int, typer.Option(help="Seed for splits, initial weights and order.")] = 0,
    as_json: AsJson = False,
) -> None:
    """Train a zoo model on data (Adam, early stopping on validation) and write it as ONNX."""
    from thrifty.baseline import train_baseline

    report = train_baseline(
        name,
        data,
        output,
        target=target,
        epochs=epochs,
        patience=patience,
        seed=seed,
        progress=not as_json,
    )
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        from thrifty.datasets.metrics import Metric

        test = Metric(report["metric"]).format(report["test"])
        typer.echo(
            f"wrote {output}: {report['model']} on {report['data']}, test "
            f"{report['metric']} {test} after {report['epochs']} epochs "
            f"({report['seconds']:.0f} s)"
        )


@app.command(
    epilog="Example: thrifty compress lenet.onnx --data fashion-mnist "
    '--recipe "prune:0.92,share:5" -o lenet.thrifty'
)
def compress(
    model: ModelSource,
    data: Data,
    recipe: Annotated[str, typer.Option(help='Techniques in order, e.g. "prune:0.92,share:5".')],
    output: Annotated[Path, typer.Option("--output", "-o", help="A .thrifty or .onnx file.")],
    target: Target = None,
    text: Text = None,
    epochs: Annotated[
        int, typer.Option(help="Fine-tuning epochs after each technique, at most.")
    ] = 8,
    max_seconds: Annotated[
        float | None, typer.Option(help="Time budget of each fine-tuning run, in seconds.")
    ] = None,
    labels: Annotated[
        bool,
        typer.Option(help="Fine-tune on labels, or (--no-labels) learn the original's outputs."),
    ] = True,
    as_json: AsJson = False,
) -> None:
    """Compress a model (prune, share, ...) with recovery fine-tuning; show before and after."""
    from thrifty.compress import FineTune
    from thrifty.compress import compress as run
    from thrifty.datasets import load as load_data
    from thrifty.loading import load
    from thrifty.measure import profile as measure
    from thrifty.measure.quality import referenced
    from thrifty.pack import pack as write_pack
    from thrifty.report.text import compare_view

    existing_model(model)
    writable_file(output, suffixes=(".thrifty", ".onnx"))
    original = load(model)
    dataset = load_data(data, target=target, text=text, model=original)
    finetune = FineTune(epochs=epochs, max_seconds=max_seconds, labels=labels)
    result = run(original, recipe, dataset, finetune=finetune, progress=not as_json)
    if output.suffix == ".thrifty":
        write_pack(result, output)
        result = load(output)
    else:
        result.save(output)
    with _status("measuring before and after", quiet=as_json):
        dataset = referenced(dataset, original)  # an embedding's: against the original's vectors
        before, after = (measure(m, dataset) for m in (original, result))
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "before": before.to_dict(),
                    "after": after.to_dict(),
                    "recipe": recipe,
                    "output": str(output),
                },
                indent=2,
            )
        )
    else:
        from rich.console import Console

        Console().print(compare_view(before, after, title=f"{recipe} -> {output}"))


register_optimize_commands(app)  # optimize, report: thrifty/cli_optimize.py


@app.command(epilog="Example: thrifty pack lenet.onnx -o lenet.thrifty")
def pack(
    model: ModelSource,
    output: Annotated[Path, typer.Option("--output", "-o", help="The .thrifty file to write.")],
    as_json: AsJson = False,
) -> None:
    """Pack a model into a small, verified .thrifty file (lossless)."""
    from thrifty.loading import load
    from thrifty.pack import inspect, pack

    writable_file(output)
    pack(load(model), output)
    _show_inspection(inspect(output), as_json)


@app.command(epilog="Example: thrifty unpack lenet.thrifty -o lenet.onnx")
def unpack(
    packed: Annotated[str, typer.Argument(help="A .thrifty file.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The ONNX file to write.")],
) -> None:
    """Unpack a .thrifty file to ONNX, with bit-identical weights."""
    from thrifty.pack import unpack

    writable_file(output)
    unpack(packed).save(output)
    typer.echo(f"wrote {output}")


@app.command(epilog="Example: thrifty inspect lenet.thrifty --json")
def inspect(
    packed: Annotated[str, typer.Argument(help="A .thrifty file.")],
    as_json: AsJson = False,
) -> None:
    """Show what a .thrifty file holds: per tensor, its encoding, bytes and bits per weight."""
    from thrifty.pack import inspect

    _show_inspection(inspect(packed), as_json)


def _show_inspection(inspection, as_json: bool) -> None:
    from rich.console import Console

    from thrifty.report.text import inspection_view

    if as_json:
        typer.echo(json.dumps(inspection.to_dict(), indent=2))
    else:
        Console().print(inspection_view(inspection))


@app.command(epilog="Example: thrifty predict lenet.thrifty images.parquet -o predictions.parquet")
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
    workers: Annotated[str, typer.Option(help="Worker processes, or auto.")] = "auto",
    threads: Annotated[str, typer.Option(help="Runtime threads per worker, or auto.")] = "auto",
    batch_size: Annotated[str, typer.Option(help="Rows per batch, or auto.")] = "auto",
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    runtime: Annotated[
        str,
        typer.Option(help="onnxruntime, torch or torch-sparse (pruned layers as sparse matrices)."),
    ] = "onnxruntime",
    precision: Annotated[
        str, typer.Option(help="PyTorch on a GPU: auto, fp32, fp16 or bf16.")
    ] = "auto",
    ray: Annotated[
        str | None, typer.Option(help="Run on a Ray cluster at this address ('local': here).")
    ] = None,
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


register_ship_commands(app)  # push, pull, ls, gc, serve: thrifty/cli_ship.py


@app.command(epilog="Example: thrifty demo  (about 4 minutes on 2 cores)")
def demo(
    out: Annotated[Path, typer.Option(help="Where the demo writes its files.")] = Path("out/demo"),
    as_json: AsJson = False,
) -> None:
    """Train (or reuse) LeNet-300-100 on Fashion-MNIST, show what it costs, find its cheapest
    version, predict with it, and write the report."""
    from rich.console import Console

    from thrifty.demo import optimize_and_predict, run_demo
    from thrifty.report.text import optimize_view

    data, path, cost, bill = run_demo(out, quiet=as_json)
    if not as_json:
        _show(cost, bill, as_json)
    found, _ = optimize_and_predict(data, path, out, quiet=as_json)
    if as_json:
        typer.echo((out / "optimized" / "report.json").read_text())
    else:
        Console().print(optimize_view(found.report()))


def _show(cost, bill, as_json: bool) -> None:
    from thrifty.report import print_profile, profile_document

    if as_json:
        typer.echo(json.dumps(profile_document(cost, bill), indent=2))
    else:
        print_profile(cost, bill)


def _status(text: str, *, quiet: bool):
    from thrifty.progress import status

    return status(text, quiet=quiet)


def main() -> None:
    """Entry point: user errors become one line and exit status 1, never a traceback."""
    try:
        app()
    except ThriftyError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
