"""The commands on .thrifty files: ``thrifty pack`` (lossless), ``thrifty unpack`` (to ONNX)
and ``thrifty inspect`` (what a file holds)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from thrifty.cli.options import AsJson, ModelSource, Packed
from thrifty.paths import writable_file


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


def unpack(
    packed: Packed,
    output: Annotated[Path, typer.Option("--output", "-o", help="The ONNX file to write.")],
) -> None:
    """Unpack a .thrifty file to ONNX, with bit-identical weights."""
    from thrifty.pack import unpack

    writable_file(output)
    unpack(packed).save(output)
    typer.echo(f"wrote {output}")


def inspect(packed: Packed, as_json: AsJson = False) -> None:
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


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: thrifty pack lenet.onnx -o lenet.thrifty")(pack)
    app.command(epilog="Example: thrifty unpack lenet.thrifty -o lenet.onnx")(unpack)
    app.command(epilog="Example: thrifty inspect lenet.thrifty --json")(inspect)
