"""The commands that make a model: ``thrifty train`` (a zoo model on data) and ``thrifty
compress`` (an existing model, with recovery fine-tuning)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from thrifty.cli.options import AsJson, Data, ModelSource, Target, Text
from thrifty.paths import existing_model, writable_file


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
    from thrifty.progress import status
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
    with status("measuring before and after", quiet=as_json):
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


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: thrifty train lenet-300-100 --data fashion-mnist -o lenet.onnx")(
        train
    )
    app.command(
        epilog="Example: thrifty compress lenet.onnx --data fashion-mnist "
        '--recipe "prune:0.92,share:5" -o lenet.thrifty'
    )(compress)
